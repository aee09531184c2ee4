"""Helpers of the PRISM MONAI Label app (``tools/monailabel_app``)."""
