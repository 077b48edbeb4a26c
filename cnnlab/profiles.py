"""Which training profile a chapter runs, and why.

A chapter's profiles are data in its module (``PROFILES``, built with
:mod:`cnnlab.recipe`): ``full`` is the published recipe of the chapter's source;
``quick`` a short CPU run on a stratified subset with fewer epochs — a smaller
experiment, not a faked one: the chapter prints which ran; ``reference`` (the
modern-CNN chapters) the recipe of the runs recorded at scale.

Which one: the ``name`` you pass, else ``$CNNLAB_PROFILE``, else ``full`` when CUDA is
available and ``quick`` otherwise (``reference`` only when asked for).

>>> p = get_profile("resnet", "quick")      # the chapter, or the model it trains
>>> p.name, p.epochs, p.model
('quick', 3, 'resnet18_fmnist')
"""

from __future__ import annotations

from cnnlab import chapters, checks
from cnnlab.recipe import (PROFILE_NAMES, REFERENCE_RECIPE, Profile, choose_profile_name,
                           d2l_recipe, reference_recipe)

__all__ = ["get_profile", "list_chapters", "Profile", "PROFILE_NAMES", "REFERENCE_RECIPE",
           "choose_profile_name", "d2l_recipe", "reference_recipe"]


def list_chapters() -> list[str]:
    """The chapters that have profiles (see :mod:`cnnlab.chapters`)."""
    return [c for c in chapters.names() if chapters.profiles_of(c)]


def get_profile(chapter: str, name: str | None = None) -> Profile:
    """The :class:`Profile` of ``chapter`` (a name from :func:`list_chapters`, or the
    model a chapter trains, e.g. ``"resnet18_fmnist"``) under ``name``."""
    checks.instance("get_profile", "chapter", chapter, str, "a chapter or model name (str)",
                    "'resnet'")
    checks.instance("get_profile", "name", name, str, "a profile name (str)", "'quick'",
                    none="$CNNLAB_PROFILE, else full with CUDA and quick without")
    found = chapter if chapter in chapters.names() else chapters.chapter_of(chapter)
    if found is None or not chapters.profiles_of(found):
        known = [f"{c} (or the model it trains: "
                 f"{', '.join(sorted({p.model for p in chapters.profiles_of(c).values()}))})"
                 for c in list_chapters()]
        raise ValueError(f"Unknown chapter {chapter!r}; known: {'; '.join(known)}.")
    name, reason = choose_profile_name(name)
    available = chapters.profiles_of(found)
    if name not in available:
        raise ValueError(f"Chapter {found!r} has no {name!r} profile ({reason}); its profiles: "
                         f"{', '.join(available)}.")
    return available[name].replace(chapter=found, name=name, reason=reason)
