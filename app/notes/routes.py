"""Note pages: a note, the archive, the editor with live preview, the tag editor, the history."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug import Response

from app.auth.models import Role
from app.auth.routes import role_required
from app.cache import cached_html
from app.calls.services import find_calls, get_call
from app.db import db, utcnow
from app.forms import options
from app.taxonomy.matching import region_matcher

from . import history, services
from .forms import NoteForm, RestoreForm, UpdateTagsForm
from .models import Note

bp = Blueprint("notes", __name__, template_folder="templates")

PAGE_SIZE = 20


def note_or_404(slug: str) -> Note:
    """The note, drafts included (for the team's pages)."""
    note = services.find_note(db.session, slug)
    if note is None:
        abort(404)
    return note


def visible_note(slug: str) -> Note:
    """The note; drafts only for the team."""
    note = services.find_note(db.session, slug)
    if note is None or (not note.is_published and not current_user.is_authenticated):
        abort(404)
    return note


@bp.get("/notes")
def list_notes() -> str:
    """Published notes, newest first."""
    page = request.args.get("page", 1, type=int)
    if page < 1:
        abort(404)
    notes = services.published_notes(db.session, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
    drafts = services.draft_notes(db.session) if current_user.is_authenticated else []
    return render_template(
        "notes/archive.html",
        notes=notes[:PAGE_SIZE],
        drafts=drafts,
        page=page,
        has_next=len(notes) > PAGE_SIZE,
    )


@bp.get("/notes/<slug>")
def show_note(slug: str) -> Response:
    """A note, update by update, with region chips, speaker links and an anchor per update."""

    # The page cache is consulted first: a cached page costs no query. Only published notes
    # reach it, as anonymous visitors are refused drafts (and the 404 is not cached); signed-in
    # pages, drafts included, are always built.
    def build() -> tuple[str, None]:
        return render_template("notes/note.html", note=visible_note(slug)), None

    return cached_html("notes", ("note", slug), build)


# --- editors ---------------------------------------------------------------------------------


def _call_choices(chosen: str | None) -> list[tuple[str, str]]:
    """The latest calls and the next few, newest first, and the call `chosen` (an id), however
    old or far off: the call a note is of must be in the menu, or saving the form detaches it."""
    now = utcnow()
    calls = [
        *find_calls(db.session, start=now, limit=3, public_only=False),
        *find_calls(db.session, end=now, limit=24, newest_first=True, public_only=False),
    ]
    current = get_call(db.session, int(chosen)) if chosen and chosen.isdigit() else None
    if current is not None:
        calls.append(current)
    unique = {call.id: call for call in calls}.values()  # a call under way is past and upcoming
    choices = [("", _("No call"))]
    for call in sorted(unique, key=lambda call: (call.start_at, call.id), reverse=True):
        label = f"{call.start_at.date().isoformat()} · {call.display_title}"
        choices.append((str(call.id), label))
    return choices


def _note_input(form: NoteForm, note: Note | None) -> services.NoteInput:
    return services.NoteInput(
        title=form.title.data or "",
        body=form.body.data or "",
        status=form.status.data or "draft",
        language=form.language.data or "en",
        call_id=int(form.call_id.data) if (form.call_id.data or "").isdigit() else None,
        recording_url=form.recording_url.data or "",
        slug=note.slug if note else "",
    )


def too_long_message() -> str:
    return _(
        "Notes can be at most %(limit)s characters long; split them into several notes.",
        limit=f"{services.MAX_BODY:,}",
    )


def _base_revision(form: NoteForm) -> int:
    """The revision the editor's text is to be saved over: the one opened, or the one a refused
    save showed when the editor chose to overwrite it. None given (a form not from the editor)
    is 0, which every saved note is past: refused, never saved over silently."""
    base = form.overwrite_revision.data if form.overwrite.data else form.base_revision.data
    return int(base) if base and base.isdigit() else 0


def _editor(note: Note | None) -> Any:
    form = NoteForm(obj=note if request.method == "GET" else None)
    if note is not None and form.call_id.data is None:
        form.call_id.data = str(note.call_id or "")
    if request.method == "GET" and note is None and request.args.get("call", "").isdigit():
        form.call_id.data = request.args["call"]
    form.call_id.choices = options(_call_choices(form.call_id.data))
    if request.method == "GET":
        form.base_revision.data = str(note.revision) if note else "0"
        return render_template("notes/edit.html", form=form, note=note, conflict=None)
    conflict = None
    if len(form.body.data or "") > services.MAX_BODY:
        # Shown in the editor with the text as sent, so that nothing typed is lost.
        form.body.errors = [too_long_message()]
        return render_template("notes/edit.html", form=form, note=note, conflict=None), 413
    if form.validate():
        try:
            saved, changed = services.save_note(
                db.session,
                _note_input(form, note),
                note=note,
                author=current_user,
                base_revision=_base_revision(form) if note else None,
            )
        except services.NoteConflict as exc:
            # The revision opened stays the form's base: saving again as before is refused
            # again, and only "overwrite" saves over the revision whose difference is shown.
            conflict = exc
            form.overwrite_revision.data = str(exc.note.revision)
            flash(str(exc), "error")
            return render_template("notes/edit.html", form=form, note=note, conflict=conflict), 409
        except services.NoteError as exc:
            field = getattr(form, exc.field, None)
            if field is not None:
                field.errors = [*field.errors, str(exc)]
            else:
                flash(str(exc), "error")
            if isinstance(exc, services.NoteTooLarge):
                return render_template("notes/edit.html", form=form, note=note, conflict=None), 413
        else:
            flash(_("Notes saved.") if changed else _("Nothing changed."), "success")
            return redirect(url_for("notes.show_note", slug=saved.slug))
    return render_template("notes/edit.html", form=form, note=note, conflict=conflict), 422


@bp.route("/notes/new", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def new_note() -> Any:
    """Write a call's notes, with a live preview of its updates and their tags."""
    return _editor(None)


@bp.route("/notes/<slug>/edit", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def edit_note(slug: str) -> Any:
    """Change a note; saving over a newer revision is refused and shows the difference, until
    the editor chooses to overwrite that revision."""
    note = note_or_404(slug)
    return _editor(note)


@bp.post("/notes/preview")
@role_required(Role.EDITOR)
def preview_note() -> str:
    """The editor's live preview: the same renderer, sanitizer and tagger as saving."""
    text = request.form.get("body", "")
    if len(text) > services.MAX_BODY:
        abort(413, too_long_message())
    try:
        sections = services.checked_sections(text, region_matcher(db.session))
    except services.NoteTooLarge as exc:
        abort(413, str(exc))
    region_ids = {rid for s in sections for rid in s.region_ids + s.mention_ids + s.suggested_ids}
    return render_template(
        "notes/_preview.html",
        sections=sections,
        regions=services.regions_by_id(db.session, region_ids),
        render=services.render.render,
    )


@bp.route("/notes/<slug>/tags", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def edit_tags(slug: str) -> Any:
    """Correct the automatic tags of the note's updates; corrections survive later edits."""
    note = note_or_404(slug)
    status = 200
    if request.method == "POST":
        form = UpdateTagsForm()
        anchor = request.form.get("anchor", "")
        if form.validate():
            try:
                if "accept" in request.form:
                    services.accept_suggestion(
                        db.session, note, anchor, request.form["accept"], author=current_user
                    )
                else:
                    services.set_update_tags(
                        db.session,
                        note,
                        anchor,
                        regions=(form.regions.data or "").split(","),
                        mentions=(form.mentions.data or "").split(","),
                        speakers=(form.speakers.data or "").split(","),
                        author=current_user,
                    )
            except services.NoteError as exc:
                flash(str(exc), "error")
                status = 422
            else:
                flash(_("Tags saved."), "success")
                return redirect(url_for("notes.edit_tags", slug=slug, _anchor=f"tags-{anchor}"))
        else:
            status = 422
    forms = {
        update.anchor: UpdateTagsForm(
            formdata=None,
            regions=", ".join(r.slug for r in update.about_regions),
            mentions=", ".join(r.slug for r in update.mentioned_regions),
            speakers=", ".join(f"@{p.handle}" for p in update.speakers),
        )
        for update in note.updates
    }
    suggested = services.suggested_regions(db.session, note)
    return (
        render_template("notes/tags.html", note=note, forms=forms, suggested=suggested),
        status,
    )


@bp.post("/notes/<slug>/delete")
@role_required(Role.EDITOR)
def delete_note(slug: str) -> Response:
    """Delete a note and its updates."""
    note = note_or_404(slug)
    if not FlaskForm().validate():
        abort(400)
    services.delete_note(db.session, note)
    flash(_("Note deleted."), "success")
    return redirect(url_for("notes.list_notes"))


def _history_page(note: Note) -> str:
    changes = history.note_history(db.session, note)
    return render_template("notes/history.html", note=note, changes=changes)


@bp.get("/notes/<slug>/history")
@role_required(Role.EDITOR)
def note_history(slug: str) -> str:
    """Every revision of a note: who made it, when, and its difference from the one before."""
    note = note_or_404(slug)
    return _history_page(note)


@bp.post("/notes/<slug>/history/<int:number>/restore")
@role_required(Role.EDITOR)
def restore_revision(slug: str, number: int) -> Any:
    """Make an old revision's title and text the note's newest revision; refused if the note
    changed since the history was opened."""
    note = services.find_note(db.session, slug)
    revision = history.find_revision(db.session, note, number) if note is not None else None
    if note is None or revision is None:
        abort(404)
    form = RestoreForm()
    if not form.validate():
        abort(400)
    try:
        restored, changed = history.restore_revision(
            db.session,
            note,
            revision,
            base_revision=int(form.base_revision.data or ""),
            author=current_user,
        )
    except services.NoteConflict:
        message = _(
            "These notes were changed (revision %(number)d) after you opened their history: "
            "nothing was restored. Look at the history again.",
            number=note.revision,
        )
        flash(message, "error")
        return _history_page(note), 409
    if changed:
        new = restored.revision
        message = _("Revision %(number)d restored as revision %(new)d.", number=number, new=new)
    else:
        message = _(
            "Nothing changed: the notes already have the text of revision %(number)d.",
            number=number,
        )
    flash(message, "success")
    return redirect(url_for("notes.note_history", slug=slug))
