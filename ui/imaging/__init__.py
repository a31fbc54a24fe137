"""The Imaging pane: series browser, slice viewer, cine, measurements and tag browser."""
