"""The API's state: loaded once, reloaded after a scan wrote the workspace, kept otherwise."""

from __future__ import annotations

import gc
import os

from tests.api.conftest import Api, Population, payment_like
from vigil.workspace import Workspace


def test_the_state_is_reloaded_after_a_scan_and_only_then(api: Api, population: Population) -> None:
    holder = api.client.app.state.scoring.holder
    before = holder.state
    assert holder.refresh_if_changed() is False
    assert holder.state is before
    # what a scan does to a party, done by hand: its score changes in the workspace file
    payment = payment_like(population, channel="online_remittance")
    with Workspace.open(api.workspace) as ws:
        ws.con.execute(
            "UPDATE sender_scores SET score = 0.99 WHERE party_id = ?", [payment["sender_id"]]
        )
        ws.con.execute("CHECKPOINT")
    stat = api.workspace.stat()
    os.utime(api.workspace, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    gc.unfreeze()
    assert holder.refresh_if_changed() is True
    assert holder.state is not before
    # the reloaded state is out of the full collections' way (no pause of tens of ms)
    assert gc.get_freeze_count() > 0
    body = api.score(payment).json()
    assert body["sender"]["score"] == 0.99
    assert body["decision"] == "hold"


def test_a_workspace_held_by_a_scan_keeps_the_old_state(api: Api) -> None:
    holder = api.client.app.state.scoring.holder
    before = holder.state
    with Workspace.open(api.workspace) as ws:  # a scan holds the file: no reader may open it
        ws.con.execute("CREATE TABLE scan_in_progress AS SELECT 1 AS x")
        ws.con.execute("CHECKPOINT")
        stat = api.workspace.stat()
        os.utime(api.workspace, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
        assert holder.refresh_if_changed() is False
        assert holder.state is before
