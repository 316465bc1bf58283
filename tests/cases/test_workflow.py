"""The case workflow: the happy path to filed, refusals, four eyes, dispositions, triage."""

from __future__ import annotations

import pytest

from vigil.cases import audit, workflow
from vigil.cases.errors import CaseNotFound, PermissionDenied, WorkflowError
from vigil.cases.models import Case
from vigil.cases.store import CaseStore

PARTIES = [("sender", "S-17"), ("beneficiary", "W-9")]


def open_case(store: CaseStore, actor: str = "ana") -> Case:
    return workflow.create_case(store, actor, "Evening payments to one wallet", PARTIES)


EXPORT = ("20260101T000000Z-abcdef-goaml-sender-S-17.xml", "ab" * 32)


def drafted(store: CaseStore, creator: str = "ana", drafter: str = "ben") -> Case:
    case = open_case(store, creator)
    workflow.transition(store, creator, case.id, "in_review")
    workflow.transition(store, creator, case.id, "escalated")
    if drafter != creator:  # only those who work a case (and supervisors) see it
        workflow.assign(store, creator, case.id, drafter)
    workflow.record_export(store, drafter, case.id, "goaml", PARTIES[0], *EXPORT)
    return workflow.transition(store, drafter, case.id, "report_drafted")


def approve(store: CaseStore, actor: str, case: Case) -> Case:
    """Approve the export the drafter made, by its file name and SHA-256."""
    file, sha256 = EXPORT
    return workflow.transition(
        store, actor, case.id, "approved", export_file=file, export_sha256=sha256
    )


def test_a_case_goes_from_new_to_filed_with_every_step_recorded(team: CaseStore) -> None:
    case = drafted(team)
    assert case.reference.startswith("C-") and case.reference.endswith(f"-{case.id:04d}")
    approve(team, "sam", case)
    filed = workflow.transition(team, "sue", case.id, "filed")
    assert filed.status == "filed"
    assert [(e.actor, e.from_status, e.to_status) for e in filed.events] == [
        ("ana", None, "new"),
        ("ana", "new", "in_review"),
        ("ana", "in_review", "escalated"),
        ("ben", "escalated", "report_drafted"),
        ("sam", "report_drafted", "approved"),
        ("sue", "approved", "filed"),
    ]
    transitions = [
        audit.detail_of(e)["to"]
        for e in reversed(audit.entries(team, target=f"case:{case.id}"))
        if e.action == "case.transition"
    ]
    assert transitions == ["in_review", "escalated", "report_drafted", "approved", "filed"]


def test_a_case_keeps_its_parties_notes_and_assignee(team: CaseStore) -> None:
    case = open_case(team)
    workflow.add_party(team, "ana", case.id, "beneficiary", "W-10")
    workflow.add_party(team, "ana", case.id, "beneficiary", "W-10")  # already there
    workflow.assign(team, "sam", case.id, "ben")
    note = workflow.add_note(team, "ben", case.id, "  Payments start after 21:00 Manila.  ")
    loaded = workflow.get_case(team, case.id)
    assert [(p.party_kind, p.party_id) for p in loaded.parties] == [
        ("beneficiary", "W-10"),
        ("beneficiary", "W-9"),
        ("sender", "S-17"),
    ]
    assert [(n.author, n.text) for n in loaded.notes] == [("ben", note.text)]
    assert note.text == "Payments start after 21:00 Manila."
    assert loaded.assignee == "ben"
    assert workflow.get_case_by_reference(team, case.reference).id == case.id
    assert workflow.get_case(team, 999) is None


def test_cases_are_listed_by_status_assignee_and_party(team: CaseStore) -> None:
    first = open_case(team)
    second = workflow.create_case(team, "ben", "Another wallet", [("beneficiary", "W-77")])
    workflow.transition(team, "ben", second.id, "in_review")
    workflow.assign(team, "ben", second.id, "ana")
    assert [c.id for c in workflow.list_cases(team)] == [second.id, first.id]
    assert [c.id for c in workflow.list_cases(team, status="new")] == [first.id]
    assert [c.id for c in workflow.list_cases(team, assignee="ana")] == [second.id]
    assert [c.id for c in workflow.list_cases(team, party="W-77")] == [second.id]
    assert [c.id for c in workflow.list_cases(team, party=("sender", "S-17"))] == [first.id]
    assert workflow.list_cases(team, party=("beneficiary", "S-17")) == []


@pytest.mark.parametrize(
    ("status_path", "to_status", "message"),
    [
        ([], "escalated", "is new: it cannot move to escalated"),
        ([], "filed", "is new: it cannot move to filed"),
        (["in_review", "escalated", "report_drafted"], "filed", "cannot move to filed"),
        ([], "archived", "unknown case status 'archived'"),
    ],
)
def test_a_step_outside_the_workflow_is_refused(
    team: CaseStore, status_path: list[str], to_status: str, message: str
) -> None:
    case = open_case(team)
    for status in status_path:
        if status == "report_drafted":
            workflow.record_export(team, "ana", case.id, "evidence", PARTIES[0], *EXPORT)
        workflow.transition(team, "ana", case.id, status)
    with pytest.raises(WorkflowError, match=message):
        workflow.transition(team, "sam", case.id, to_status)
    assert workflow.get_case(team, case.id).status == (status_path or ["new"])[-1]


def test_roles_limit_who_moves_a_case(team: CaseStore) -> None:
    with pytest.raises(PermissionDenied, match=r"aud \(auditor\) may not open a case"):
        open_case(team, "aud")
    case = drafted(team)
    with pytest.raises(PermissionDenied, match=r"ben \(analyst\) may not move"):
        workflow.transition(team, "ben", case.id, "escalated")  # only a supervisor sends back
    with pytest.raises(PermissionDenied, match="adm"):
        workflow.add_note(team, "adm", case.id, "admins do not work cases")
    with pytest.raises(PermissionDenied, match="not an active user"):
        approve(team, "mallory", case)
    with pytest.raises(CaseNotFound, match="no case 999"):
        workflow.transition(team, "sam", 999, "approved")


def test_the_creator_may_not_approve_their_own_case(team: CaseStore) -> None:
    case = drafted(team, creator="sam", drafter="ben")
    assert "approved" not in workflow.allowed_transitions(team, "sam", case.id)
    with pytest.raises(PermissionDenied, match="four eyes: sam opened case"):
        approve(team, "sam", case)
    assert workflow.allowed_transitions(team, "sue", case.id) == ["approved", "escalated", "closed"]
    assert approve(team, "sue", case).status == "approved"


def test_the_supervisor_who_drafted_may_not_approve(team: CaseStore) -> None:
    case = drafted(team, creator="ana", drafter="sue")
    with pytest.raises(PermissionDenied, match="four eyes: sue drafted the report"):
        approve(team, "sue", case)
    assert workflow.get_case(team, case.id).status == "report_drafted"
    approve(team, "sam", case)


def test_changes_requested_sends_the_draft_back_and_the_new_drafter_counts(
    team: CaseStore,
) -> None:
    case = drafted(team, creator="ana", drafter="sam")
    workflow.transition(team, "sue", case.id, "escalated")  # changes requested
    workflow.assign(team, "sue", case.id, "ben")
    workflow.transition(team, "ben", case.id, "report_drafted")
    assert approve(team, "sam", case).status == "approved"


def test_only_a_supervisor_files_an_approved_case(team: CaseStore) -> None:
    case = drafted(team)
    approve(team, "sam", case)
    with pytest.raises(PermissionDenied, match=r"ana \(analyst\) may not move .* to filed"):
        workflow.transition(team, "ana", case.id, "filed")
    assert workflow.transition(team, "sam", case.id, "filed").status == "filed"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "closing a case needs a disposition"),
        ({"disposition": "false_positive"}, "a false positive needs a reason"),
        ({"disposition": "legitimate"}, "names the population"),
        (
            {"disposition": "confirmed", "legitimate_population": "students"},
            "only for a legitimate disposition",
        ),
    ],
)
def test_closing_needs_a_complete_disposition(
    team: CaseStore, options: dict[str, str], message: str
) -> None:
    case = open_case(team)
    with pytest.raises(WorkflowError, match=message):
        workflow.transition(team, "ana", case.id, "closed", **options)


def test_a_closed_case_keeps_its_disposition_and_takes_no_more_changes(team: CaseStore) -> None:
    case = open_case(team)
    closed = workflow.transition(
        team,
        "ana",
        case.id,
        "closed",
        disposition="legitimate",
        legitimate_population="overseas worker family support",
    )
    assert (closed.status, closed.disposition, closed.legitimate_population) == (
        "closed",
        "legitimate",
        "overseas worker family support",
    )
    with pytest.raises(WorkflowError, match="cannot move to in_review"):
        workflow.transition(team, "sam", case.id, "in_review")
    with pytest.raises(WorkflowError, match="is closed"):
        workflow.add_party(team, "ana", case.id, "sender", "S-18")
    with pytest.raises(WorkflowError, match="only when closing"):
        workflow.transition(team, "ana", open_case(team).id, "in_review", disposition="confirmed")


def test_triage_states_are_kept_per_alert(team: CaseStore) -> None:
    assert workflow.alert_states(team) == {}
    workflow.set_alert_state(team, "ana", "sender", "S-1", "in_review", assignee="ana")
    workflow.set_alert_state(team, "ben", "sender", "S-2", "dismissed")
    open_case(team)  # its parties' alerts become case_opened
    states = workflow.alert_states(team)
    assert {key: (s.status, s.assignee) for key, s in states.items()} == {
        ("sender", "S-1"): ("in_review", "ana"),
        ("sender", "S-2"): ("dismissed", None),
        ("sender", "S-17"): ("case_opened", None),
        ("beneficiary", "W-9"): ("case_opened", None),
    }
    assert states[("sender", "S-2")].updated_by == "ben"
    with pytest.raises(PermissionDenied, match="may not triage"):
        workflow.set_alert_state(team, "aud", "sender", "S-1", "dismissed")
    with pytest.raises(WorkflowError, match="unknown alert status"):
        workflow.set_alert_state(team, "ana", "sender", "S-1", "solved")
    with pytest.raises(WorkflowError, match="cannot work cases"):
        workflow.set_alert_state(team, "ana", "sender", "S-1", "in_review", assignee="aud")
    latest = audit.entries(team, actor="ben", limit=1)[0]
    assert (latest.action, latest.target) == ("alert.triage", "sender:S-2")


def test_a_refused_change_leaves_no_trace(team: CaseStore) -> None:
    case = open_case(team)
    before = audit.count_entries(team)
    with pytest.raises(WorkflowError):
        workflow.transition(team, "ana", case.id, "filed")
    assert audit.count_entries(team) == before
    assert audit.verify(team).ok


def test_no_party_joins_a_case_after_its_approval(team: CaseStore) -> None:
    case = drafted(team)
    workflow.add_party(team, "ana", case.id, "sender", "S-18")  # the approver will see it
    approve(team, "sam", case)
    with pytest.raises(WorkflowError, match=r"four eyes: .* is approved"):
        workflow.add_party(team, "ana", case.id, "sender", "S-19")
    workflow.add_party(team, "ana", case.id, "sender", "S-18")  # already on it: no change
    workflow.transition(team, "sam", case.id, "filed")
    with pytest.raises(WorkflowError, match="is filed"):
        workflow.add_party(team, "sam", case.id, "beneficiary", "W-11")
    parties = {(p.party_kind, p.party_id) for p in workflow.get_case(team, case.id).parties}
    assert parties == {*PARTIES, ("sender", "S-18")}


def test_a_case_is_seen_by_its_creator_its_assignee_and_supervisors_only(
    team: CaseStore,
) -> None:
    case = open_case(team, "ana")
    for outsider, act in [
        ("ben", lambda: workflow.get_case(team, case.id, viewer="ben")),
        ("ben", lambda: workflow.add_note(team, "ben", case.id, "not my case")),
        ("ben", lambda: workflow.transition(team, "ben", case.id, "in_review")),
        ("adm", lambda: workflow.get_case(team, case.id, viewer="adm")),
    ]:
        with pytest.raises(CaseNotFound, match=f"no case {case.id}"):
            act()
        latest = audit.entries(team, target=f"case:{case.id}")[0]
        assert (latest.actor, latest.action) == (outsider, "case.refused")
    assert workflow.list_cases(team, viewer="ben") == []
    assert [c.id for c in workflow.list_cases(team, viewer="sam")] == [case.id]
    assert workflow.get_case(team, case.id, viewer="aud") is not None

    workflow.assign(team, "ana", case.id, "ben")
    assert workflow.get_case(team, case.id, viewer="ben") is not None
    assert [c.id for c in workflow.list_cases(team, viewer="ben")] == [case.id]


def test_a_case_id_too_large_for_the_database_is_no_case(team: CaseStore) -> None:
    assert workflow.get_case(team, 10**20) is None
    with pytest.raises(CaseNotFound):
        workflow.add_note(team, "ana", 10**20, "no such case")


def test_no_report_drafted_without_an_export(team: CaseStore) -> None:
    case = open_case(team)
    workflow.transition(team, "ana", case.id, "in_review")
    workflow.transition(team, "ana", case.id, "escalated")

    assert "report_drafted" not in workflow.allowed_transitions(team, "ana", case.id)
    with pytest.raises(WorkflowError, match="has no export yet"):
        workflow.transition(team, "ana", case.id, "report_drafted")

    workflow.record_export(team, "ana", case.id, "evidence", PARTIES[0], *EXPORT)
    assert "report_drafted" in workflow.allowed_transitions(team, "ana", case.id)
    assert workflow.transition(team, "ana", case.id, "report_drafted").status == "report_drafted"


def test_an_approval_names_the_exported_file_and_its_hash(team: CaseStore) -> None:
    case = drafted(team)
    file, sha256 = EXPORT

    with pytest.raises(WorkflowError, match="names the exported file and its SHA-256"):
        workflow.transition(team, "sam", case.id, "approved")
    with pytest.raises(WorkflowError, match="has no export"):
        workflow.transition(
            team, "sam", case.id, "approved", export_file=file, export_sha256="cd" * 32
        )
    assert workflow.get_case(team, case.id).status == "report_drafted"

    approve(team, "sam", case)
    [entry] = [
        e
        for e in audit.entries(team, target=f"case:{case.id}")
        if e.action == "case.transition" and audit.detail_of(e)["to"] == "approved"
    ]
    assert audit.detail_of(entry)["file"] == file and audit.detail_of(entry)["sha256"] == sha256


def test_a_filed_case_is_final_and_its_alerts_are_reported(team: CaseStore) -> None:
    case = drafted(team)
    approve(team, "sam", case)
    workflow.transition(team, "sue", case.id, "filed")

    assert workflow.allowed_transitions(team, "sam", case.id) == []
    with pytest.raises(WorkflowError, match="cannot move to closed"):
        workflow.transition(
            team, "ana", case.id, "closed", disposition="confirmed", reason="reported"
        )
    with pytest.raises(WorkflowError, match="its parties are fixed"):
        workflow.add_party(team, "ana", case.id, "beneficiary", "W-77")
    states = workflow.alert_states(team)
    assert {states[p].status for p in PARTIES} == {"reported"}
