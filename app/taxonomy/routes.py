"""Region and speaker pages; the admin page for regions and aliases."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length

from app.auth.models import Role
from app.auth.routes import role_required
from app.db import db

from . import services

bp = Blueprint("taxonomy", __name__, template_folder="templates")

PAGE_SIZE = 30


def _page() -> int:
    page = request.args.get("page", 1, type=int)
    if page < 1:
        abort(404)
    return page


@bp.get("/regions")
def list_regions() -> str:
    """The region tree."""
    return render_template("taxonomy/regions.html", roots=services.region_tree(db.session))


@bp.get("/regions/<slug>")
def show_region(slug: str) -> str:
    """A region's updates and its sub-regions', newest first."""
    from app.notes.services import updates_for_region

    region = services.find_region(db.session, slug)
    if region is None:
        abort(404)
    page = _page()
    updates = updates_for_region(db.session, region, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
    return render_template(
        "taxonomy/region.html",
        region=region,
        ancestors=services.ancestors(region),
        updates=updates[:PAGE_SIZE],
        page=page,
        has_next=len(updates) > PAGE_SIZE,
    )


class PersonForm(FlaskForm):
    display_name = StringField("display_name", validators=[Length(max=200)])
    organisation = StringField("organisation", validators=[Length(max=200)])


@bp.route("/people/<handle>", methods=["GET", "POST"])
def show_person(handle: str) -> Any:
    """A speaker's updates, newest first; editors can set their name and organisation."""
    from app.notes.services import has_published_updates, updates_for_person

    person = services.find_person(db.session, handle)
    if person is None:
        abort(404)
    if not current_user.is_authenticated and not has_published_updates(db.session, person):
        abort(404)  # named only in drafts: not public yet
    form = PersonForm(obj=person)
    if request.method == "POST":
        if not current_user.is_authenticated:
            abort(403)
        if not form.validate():
            abort(422, _("The name and organisation must be under 200 characters."))
        services.update_person(
            db.session, person, form.display_name.data or "", form.organisation.data or ""
        )
        flash(_("Saved."), "success")
        return redirect(url_for("taxonomy.show_person", handle=person.handle))
    page = _page()
    updates = updates_for_person(db.session, person, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
    return render_template(
        "taxonomy/person.html",
        person=person,
        form=form,
        updates=updates[:PAGE_SIZE],
        page=page,
        has_next=len(updates) > PAGE_SIZE,
    )


class RegionForm(FlaskForm):
    name = StringField("name", validators=[Length(max=120)])
    parent = StringField("parent", validators=[Length(max=80)])
    aliases = StringField("aliases", validators=[Length(max=1000)])


class AliasForm(FlaskForm):
    region = StringField("region", validators=[Length(max=80)])
    alias = StringField("alias", validators=[Length(max=120)])


@bp.route("/admin/regions", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def admin_regions() -> Any:
    """Add regions of the coalition's own and aliases for any region."""
    region_form, alias_form = RegionForm(prefix="new"), AliasForm(prefix="alias")
    status = 200
    if request.method == "POST":
        try:
            if "new-name" in request.form and region_form.validate():
                aliases = [a for a in (region_form.aliases.data or "").split(",") if a.strip()]
                region = services.create_region(
                    db.session, region_form.name.data or "", region_form.parent.data or "", aliases
                )
                flash(_("Region %(name)s added.", name=region.name), "success")
                return redirect(url_for("taxonomy.admin_regions"))
            if "alias-alias" in request.form and alias_form.validate():
                region = services.find_region(db.session, alias_form.region.data or "")
                if region is None:
                    raise services.TaxonomyError(
                        _("There is no region %(slug)s.", slug=alias_form.region.data), "region"
                    )
                services.add_alias(db.session, region, alias_form.alias.data or "")
                flash(_("Alias added to %(name)s.", name=region.name), "success")
                return redirect(url_for("taxonomy.admin_regions"))
            status = 422
            flash(_("Check the form: a field is too long or missing."), "error")
        except services.TaxonomyError as exc:
            flash(str(exc), "error")
            status = 422
    return (
        render_template(
            "taxonomy/admin_regions.html",
            roots=services.region_tree(db.session),
            region_form=region_form,
            alias_form=alias_form,
        ),
        status,
    )
