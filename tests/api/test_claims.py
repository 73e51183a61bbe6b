"""Author claims: a member claims an author on the paper page, staff approve or reject it
with a reason in the admin, a rejected claim can be made again, and a verified author is
marked on the paper page, the author page, their public page and in the API."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from discussions.services import comment_post
from papers.claims import author_id
from papers.models import AuthorClaim
from tests.api.conftest import bearer
from tests.factories import CommentFactory, PaperFactory

pytestmark = pytest.mark.django_db

CLAIM_API = "/api/settings/papers/claim"


def _claim(client, paper, index: int):
    return client.post(reverse("papers:claim", args=[paper.arxiv_id]), {"author": index})


def _decide(client, claim: AuthorClaim, status: str, reason: str = ""):
    url = reverse("admin:papers_authorclaim_change", args=[claim.pk])
    return client.post(url, {"status": status, "reason": reason})


def _api_author(client, paper, index: int) -> dict:
    return client.get(f"/api/papers/{paper.arxiv_id}").json()["authors"][index]


def test_a_member_claims_an_author_and_staff_approve_it(client, alice, staff, commit):
    paper = PaperFactory(authors=[{"name": "Ada Lovelace"}, {"name": "Alice Liddell"}])
    client.force_login(alice)
    page = client.get(reverse("papers:paper", args=[paper.arxiv_id])).content.decode()
    assert reverse("papers:claim", args=[paper.arxiv_id]) in page

    response = commit(lambda: _claim(client, paper, 1))
    assert response.status_code == HTTPStatus.FOUND
    claim = AuthorClaim.objects.get()
    assert (claim.user, claim.author_name, claim.status) == (alice, "Alice Liddell", "pending")
    assert "waiting for a moderator" in client.get(reverse("people:profile")).content.decode()
    assert _api_author(client, paper, 1)["status"] is None  # not verified before approval

    client.force_login(staff)
    assert commit(lambda: _decide(client, claim, "approved")).status_code == HTTPStatus.FOUND
    claim.refresh_from_db()
    assert claim.status == "approved"
    assert claim.decided_by == staff

    client.logout()
    page = client.get(reverse("papers:paper", args=[paper.arxiv_id])).content.decode()
    member_url = reverse("people:member", args=["alice"])
    assert f'class="verified" href="{member_url}"' in page
    assert paper.title in client.get(member_url).content.decode()  # "Papers authored"
    author_page = client.get(reverse("papers:author", args=["Alice Liddell"])).content.decode()
    assert member_url in author_page
    shown = _api_author(client, paper, 1)
    assert shown["status"] == "claimed_verified"
    assert shown["user"]["user"] == "alice"
    assert shown["statusLastChangedAt"]
    assert _api_author(client, paper, 0)["user"] is None
    avatar = client.get(shown["user"]["avatarUrl"])  # the profile's initials avatar
    assert avatar["Content-Type"] == "image/svg+xml"
    assert ">A</text>" in avatar.content.decode()


def test_a_rejection_needs_a_reason_the_member_sees_and_they_can_claim_again(
    client, alice, staff, commit
):
    paper = PaperFactory()
    client.force_login(alice)
    _claim(client, paper, 0)
    claim = AuthorClaim.objects.get()

    client.force_login(staff)
    response = _decide(client, claim, "rejected", "")
    assert response.status_code == HTTPStatus.OK  # the form again, with the error
    assert "Say why" in response.content.decode()
    claim.refresh_from_db()
    assert claim.status == "pending"
    commit(lambda: _decide(client, claim, "rejected", "The affiliation does not match."))
    claim.refresh_from_db()
    assert claim.status == "rejected"

    client.force_login(alice)
    profile = client.get(reverse("people:profile")).content.decode()
    assert "The affiliation does not match." in profile
    assert "claim again" in profile
    assert _claim(client, paper, 0).status_code == HTTPStatus.FOUND  # claimed again
    assert list(AuthorClaim.objects.order_by("id").values_list("status", flat=True)) == [
        "rejected",
        "pending",
    ]


def test_an_author_cannot_be_claimed_twice_nor_a_paper_by_one_member_twice(
    client, alice, bob, staff, commit
):
    paper = PaperFactory()
    client.force_login(alice)
    _claim(client, paper, 0)
    response = _claim(client, paper, 1)
    assert response.status_code == HTTPStatus.CONFLICT
    assert "already" in response.content.decode()

    client.force_login(staff)
    commit(lambda: _decide(client, AuthorClaim.objects.get(), "approved"))
    client.force_login(bob)
    response = _claim(client, paper, 0)
    assert response.status_code == HTTPStatus.CONFLICT
    assert "claimed by alice already" in response.content.decode()
    assert AuthorClaim.objects.count() == 1


@pytest.mark.parametrize("value", ["", "9", "-1", "x", "99999999999"])
def test_a_claim_of_no_such_author_is_refused_clearly(client, alice, value):
    paper = PaperFactory()
    client.force_login(alice)
    response = client.post(reverse("papers:claim", args=[paper.arxiv_id]), {"author": value})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert 'class="error"' in response.content.decode()
    assert not AuthorClaim.objects.exists()


def test_visitors_are_sent_to_sign_in_to_claim(client):
    paper = PaperFactory()
    response = _claim(client, paper, 0)
    assert response.status_code == HTTPStatus.FOUND
    assert "/accounts/login/" in response["Location"]
    assert not AuthorClaim.objects.exists()


def test_members_cannot_decide_claims(client, alice, bob):
    paper = PaperFactory()
    client.force_login(alice)
    _claim(client, paper, 0)
    client.force_login(bob)
    response = _decide(client, AuthorClaim.objects.get(), "approved")
    assert response.status_code == HTTPStatus.FOUND
    assert "/login" in response["Location"]
    assert AuthorClaim.objects.get().status == "pending"


# --- the API -------------------------------------------------------------------------------


def test_the_api_claim_takes_hugging_faces_body(client, alice, alice_token):
    paper = PaperFactory()
    body = {"paperId": paper.arxiv_id, "claimAuthorId": author_id(paper, 1)}
    response = client.post(
        CLAIM_API, body, content_type="application/json", headers=bearer(alice_token)
    )
    assert response.status_code == HTTPStatus.OK
    assert response.json()["status"] == "claimed_pending"
    assert response.json()["name"] == "Alan Turing"
    assert AuthorClaim.objects.get().user == alice

    again = client.post(
        CLAIM_API, body, content_type="application/json", headers=bearer(alice_token)
    )
    assert again.status_code == HTTPStatus.CONFLICT
    assert "error" in again.json()


def test_only_staff_claim_for_someone_else_and_theirs_is_approved(
    client, alice, bob, staff, alice_token, commit
):
    paper = PaperFactory()
    body = {
        "paperId": paper.arxiv_id,
        "claimAuthorId": author_id(paper, 0),
        "targetUserId": "bob",
    }
    refused = client.post(
        CLAIM_API, body, content_type="application/json", headers=bearer(alice_token)
    )
    assert refused.status_code == HTTPStatus.FORBIDDEN
    assert not AuthorClaim.objects.exists()

    client.force_login(staff)
    body["targetUserId"] = f"{bob.pk:024x}"  # the `_id` the API shows for bob
    response = commit(lambda: client.post(CLAIM_API, body, content_type="application/json"))
    assert response.status_code == HTTPStatus.OK
    assert response.json()["status"] == "claimed_verified"
    assert _api_author(client, paper, 0)["user"]["user"] == "bob"


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"claimAuthorId": "nothex"}, HTTPStatus.BAD_REQUEST),
        ({"claimAuthorId": "0" * 24}, HTTPStatus.BAD_REQUEST),  # another paper's author
        ({"paperId": "2699.99999"}, HTTPStatus.NOT_FOUND),
        ({"targetUserId": "nobody-here"}, HTTPStatus.NOT_FOUND),
        ({"paperId": None}, HTTPStatus.BAD_REQUEST),
    ],
)
def test_bad_api_claims_get_a_clear_error(client, alice_token, change, status):
    paper = PaperFactory()
    body = {"paperId": paper.arxiv_id, "claimAuthorId": author_id(paper, 0), **change}
    response = client.post(
        CLAIM_API, body, content_type="application/json", headers=bearer(alice_token)
    )
    assert response.status_code == status
    assert response.json()["error"]
    assert not AuthorClaim.objects.exists()


def test_an_anonymous_claim_is_refused(client):
    paper = PaperFactory()
    body = {"paperId": paper.arxiv_id, "claimAuthorId": author_id(paper, 0)}
    response = client.post(CLAIM_API, body, content_type="application/json")
    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_a_verified_authors_comment_makes_the_author_participating(client, alice, staff, commit):
    paper = PaperFactory()
    other = PaperFactory()
    client.force_login(staff)
    body = {
        "paperId": paper.arxiv_id,
        "claimAuthorId": author_id(paper, 0),
        "targetUserId": "alice",
    }
    commit(lambda: client.post(CLAIM_API, body, content_type="application/json"))
    CommentFactory(paper=other, author=alice)  # not on the paper alice wrote

    def participating() -> dict[str, bool]:
        items = client.get("/api/daily_papers", {"date": "2026-06-12"}).json()
        return {item["paper"]["id"]: item["isAuthorParticipating"] for item in items}

    assert participating() == {paper.arxiv_id: False, other.arxiv_id: False}
    commit(lambda: comment_post(user=alice, paper=paper, body="We wrote this, ask away."))
    assert participating() == {paper.arxiv_id: True, other.arxiv_id: False}


def test_the_daily_list_reads_claims_for_the_whole_page_at_once(
    client, alice, django_assert_max_num_queries
):
    papers = PaperFactory.create_batch(12)
    for paper in papers[:6]:
        AuthorClaim.objects.create(
            paper=paper, author_index=0, author_name="Ada Lovelace", user=alice, status="approved"
        )
    with django_assert_max_num_queries(4) as queries:
        items = client.get("/api/daily_papers", {"date": "2026-06-12"}).json()
    assert len(items) == 12
    assert sum(item["paper"]["authors"][0]["status"] == "claimed_verified" for item in items) == 6
    assert len(queries) <= 4


def test_papers_nobody_claimed_cost_no_claims_query(
    alice, staff, commit, django_assert_num_queries
):
    """Approved claims are few: the papers that have one are kept until a claim is decided,
    and a list of papers without any reads no claim at all."""
    from papers.claims import approved_claims, claim_author, decide_claim

    papers = [PaperFactory(authors=[{"name": "Alice Liddell"}]) for _ in range(3)]
    ids = [paper.pk for paper in papers]
    assert approved_claims(ids) == {}  # the set of claimed papers, read once
    with django_assert_num_queries(0):
        assert approved_claims(ids) == {}
    claim = claim_author(user=alice, paper=papers[1], index=0)
    assert approved_claims(ids) == {}  # pending: not shown
    commit(lambda: decide_claim(claim=claim, approve=True, reason="", by=staff))
    found = approved_claims(ids)
    assert list(found) == [papers[1].pk]
    assert found[papers[1].pk][0].user == alice
    commit(lambda: decide_claim(claim=claim, approve=False, reason="Not her.", by=staff))
    assert approved_claims(ids) == {}
