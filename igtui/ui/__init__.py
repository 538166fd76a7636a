"""igtui's Textual front end. Everything here may import textual/rich; igtui.core never does."""
