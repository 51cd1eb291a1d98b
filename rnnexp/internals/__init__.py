"""What rnnexp uses of Hydra's and torch's private APIs, one module each, with the versions it was tested on."""
