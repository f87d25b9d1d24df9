"""The two contested rules, each behind a switch (README "Contested rules"):
docs/protocol.md §7 (GET dataSourceConfiguration of a never-configured agent: 404 or 200
without configurationId) and §5.1 (rotation with the RAT after the client secret expired)."""

import pytest

import expect

SECRET_LIFETIME = 604800


def _with_token(emu):
    agent = emu.onboarded()
    assert agent.token().status == 200
    return agent


# --- §7: never-configured data source configuration ----------------------------------------

def test_dsc_unconfigured_defaults_to_404(spawn):
    emu = spawn()
    assert emu.admin_json("GET", "/_admin/settings")["dsc_unconfigured"] == "404"
    expect.management_error(_with_token(emu).get_dsc(), 404)


def test_dsc_unconfigured_empty_from_the_command_line(spawn):
    # GIVEN --dsc-unconfigured empty WHEN a fresh agent GETs THEN 200 without configurationId;
    # once configured, both modes answer 200 with it
    emu = spawn(dsc_unconfigured="empty")
    agent = _with_token(emu)
    body = agent.get_dsc().json()
    assert "configurationId" not in body and body["eTag"] == "0"
    assert agent.put_dsc({"configurationId": "c", "dataSources": []}).status == 200
    assert agent.get_dsc().json()["configurationId"] == "c"


def test_dsc_unconfigured_switch_through_the_admin_api(emu):
    agent = _with_token(emu)
    expect.management_error(agent.get_dsc(), 404)
    emu.settings(dsc_unconfigured="empty")
    assert agent.get_dsc().status == 200
    emu.settings(dsc_unconfigured="404")
    expect.management_error(agent.get_dsc(), 404)
    assert agent.put_dsc({"configurationId": "c", "dataSources": []}).status == 200
    assert agent.get_dsc().json()["eTag"] == "1"
    expect.management_error(emu.admin("POST", "/_admin/settings", {"dsc_unconfigured": 404}),
                            400)


# --- §5.1: rotation after the secret expired ----------------------------------------------

def _expire(emu):
    emu.settings(clock_offset=SECRET_LIFETIME + 60)


@pytest.mark.parametrize("profile", ["SHARED_SECRET", "RSA_3072"])
def test_rotation_after_expiry_is_refused_by_default(emu, keys, profile):
    # GIVEN an agent whose secret expired WHEN it gets a token THEN 400; WHEN it then rotates
    # with its RAT (MCL's documented recovery) THEN 401: a new boarding file is needed
    agent = emu.onboarded(profile, key=keys[0] if profile == "RSA_3072" else None)
    _expire(emu)
    expect.iam_error(agent.token(now=emu.server_now()), 400, "invalid_client")
    body = expect.iam_error(agent.rotate(key=keys[1] if profile == "RSA_3072" else None), 401,
                            "token_validation_failed")
    assert "expired" in body["error_description"]
    assert emu.state(agent.client_id)["rotation_count"] == 0


@pytest.mark.parametrize("profile", ["SHARED_SECRET", "RSA_3072"])
def test_rotation_after_expiry_accepted(emu, keys, profile):
    # GIVEN rotation_after_expiry accept WHEN the expired agent rotates with its RAT THEN 200,
    # a new expiry in the future, and tokens again - no new boarding file
    emu.settings(rotation_after_expiry="accept")
    agent = emu.onboarded(profile, key=keys[0] if profile == "RSA_3072" else None)
    _expire(emu)
    expect.iam_error(agent.token(now=emu.server_now()), 400, "invalid_client")
    resp = agent.rotate(key=keys[1] if profile == "RSA_3072" else None)
    assert resp.status == 200, resp
    assert agent.expires_at > emu.server_now()
    assert agent.token(now=emu.server_now()).status == 200
    state = emu.state(agent.client_id)
    assert state["rotation_count"] == 1 and state["onboard_count"] == 1


def test_rotation_after_expiry_accept_still_checks_the_rat(emu):
    emu.settings(rotation_after_expiry="accept")
    agent = emu.onboarded()
    first_rat = agent.rat
    assert agent.rotate().status == 200 and agent.rotate().status == 200
    _expire(emu)
    expect.iam_error(agent.rotate(rat=first_rat), 401, "token_validation_failed")
    assert agent.rotate().status == 200


def test_rotation_after_expiry_from_the_command_line(spawn):
    emu = spawn(rotation_after_expiry="accept")
    assert emu.admin_json("GET", "/_admin/settings")["rotation_after_expiry"] == "accept"
    agent = emu.onboarded()
    _expire(emu)
    assert agent.rotate().status == 200
    expect.management_error(emu.admin("POST", "/_admin/settings",
                                      {"rotation_after_expiry": "maybe"}), 400)
