"""``--demo``: a throwaway profile in a temp folder, and its welcome screen.

The demo vault's key lives only in memory and the folder is erased at quit, so a demo
leaves nothing behind. Its passphrase is generated (a few plain words, easy to type)
and shown on the welcome screen and under the lock prompt.

Filling the demo: :data:`POPULATE_HOOKS` holds the steps run (on a background thread) after
the vault is created. ``ui/demo_platform.py`` registers the one that starts the reference
server in this process and signs in; it leaves a :attr:`DemoSession.platform` behind, and
the shell then runs the regular sync against it, so the worklist fills like a real one.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ui.heading import dialog_heading
from ui.qt import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QIcon,
    QLabel,
    Qt,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)

#: Called as ``hook(session, vault)`` after the demo vault is created.
POPULATE_HOOKS: list[Callable[[DemoSession, Any], None]] = []

# Short, common, unambiguous words (no homophones, nothing clinical).
_WORD_TEXT = """
amber anchor apple arrow aspen autumn badge bamboo basil beacon birch bison blossom
breeze bridge brook cabin cactus candle canyon carbon cedar cherry cider cinder
clover cobalt comet copper coral cotton crane crystal daisy delta desert dolphin
dune eagle ember falcon fern fiddle flint forest fossil garden garnet ginger glacier
granite harbor hazel heron honey horizon indigo iris island ivory jasmine juniper
kettle kiwi lagoon lantern lemon lilac linen lotus magnet maple marble meadow melon
meteor mint monsoon mosaic nectar nickel nutmeg oak oasis olive onyx orbit orchid
otter paddle panda pebble pepper pine planet plum prairie quartz quill rainbow raven
reef ribbon river robin saffron sage salmon sapphire satin sequoia shadow silver
sparrow spruce summit sunset tango thistle thunder timber topaz tulip tundra velvet
violet walnut willow winter yarrow zephyr
"""
_WORDS = tuple(_WORD_TEXT.split())


def demo_passphrase(words: int = 4) -> str:
    """A readable random passphrase such as ``maple-river-copper-lantern``."""
    return "-".join(secrets.choice(_WORDS) for _ in range(words))


_PREFIX = "reviewer-demo-"
_OWNER = "owner.pid"


def remove_abandoned_demos(temp: Path | None = None) -> list[Path]:
    """Erase demo folders whose process is gone (a demo killed instead of quit).

    Their data is already unreadable (the key lived only in that process's memory); this
    gives the disk space back. A folder without an owner file is left alone.
    """
    removed = []
    for folder in Path(temp or tempfile.gettempdir()).glob(f"{_PREFIX}*"):
        try:
            pid = int((folder / _OWNER).read_text())
        except (OSError, ValueError):
            continue
        if pid != os.getpid() and not _alive(pid):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    if os.name == "nt":
        # os.kill would terminate the process there, not probe it: keep every folder.
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class DemoSession:
    """The demo's temp folder, passphrase and vault; :meth:`cleanup` erases it all."""

    def __init__(self) -> None:
        remove_abandoned_demos()
        self.folder = Path(tempfile.mkdtemp(prefix=_PREFIX))
        (self.folder / _OWNER).write_text(str(os.getpid()))
        self.passphrase = demo_passphrase()
        #: Set by a fill-in step: the demo's platform (``fhir_base``, ``store``, ``stop()``).
        self.platform: Any = None

    @property
    def profile_root(self) -> Path:
        return self.folder / "profile"

    def create_vault(self) -> Any:
        """Create the demo profile, its key only in memory."""
        from reviewer_app.vault import KeySource, Profile, create_profile

        return create_profile(
            Profile(self.profile_root), self.passphrase, key_source=KeySource.MEMORY
        )

    def populate(self, vault: Any) -> None:
        """Run the registered fill-in steps (none until the exchange layer adds one)."""
        for hook in POPULATE_HOOKS:
            hook(self, vault)

    def cleanup(self) -> None:
        """Stop the demo platform and erase the demo folder (call after the vault is
        closed and background work has ended)."""
        platform, self.platform = self.platform, None
        if platform is not None:
            platform.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class DemoWelcomeDialog(QDialog):
    """Says this is a demo and shows the passphrase that unlocks it."""

    def __init__(self, passphrase: str, icon: QIcon, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("demoWelcomeDialog")
        self.setWindowTitle("Reviewer demo")
        self.setWindowIcon(icon)
        self.setModal(True)

        top = dialog_heading(
            icon,
            "Welcome to the Reviewer demo",
            "This is a throwaway profile with synthetic cases only. It is erased when you "
            "quit. Reviewer locks itself after a few idle minutes, or with Ctrl+L: unlock "
            "it with this passphrase. It also signs opinions: the demo platform has "
            "already issued you a signing certificate, protected by the same passphrase.",
        )

        self.passphrase_label = QLabel(passphrase)
        self.passphrase_label.setObjectName("demoPassphrase")
        self.passphrase_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.passphrase_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        caption = QLabel("Demo passphrase")
        caption.setObjectName("mutedLabel")
        caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box = QFrame()
        box.setObjectName("infoFrame")
        box_layout = QVBoxLayout(box)
        box_layout.setContentsMargins(16, 14, 16, 16)
        box_layout.setSpacing(6)
        box_layout.addWidget(caption)
        box_layout.addWidget(self.passphrase_label)

        buttons = QDialogButtonBox()
        start = buttons.addButton("Start demo", QDialogButtonBox.ButtonRole.AcceptRole)
        start.setObjectName("primaryButton")
        start.setDefault(True)
        buttons.accepted.connect(self.accept)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 26, 28, 20)
        layout.setSpacing(18)
        layout.addLayout(top)
        layout.addWidget(box)
        layout.addWidget(buttons)
        self.setMinimumWidth(520)
