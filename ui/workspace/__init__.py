"""The review workspace: one Case shown in a banner and three panes side by side."""
