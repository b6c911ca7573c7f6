"""A vector store's life: expiry `days` after its last activity (`expires_after`), and the
last_active_at a search refreshes, at most once per ACTIVE_RESOLUTION seconds. Time passes by
moving last_active_at back in the real database."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import update

from app.config import Settings
from app.db.session import create_engine
from app.db.tables import VectorStoreRow
from app.services.vector_stores.stores import ACTIVE_RESOLUTION
from tests.api.test_files import assert_error
from tests.api.vector_store_helpers import create_store, search, store_of_docs

DAY = 86_400


def set_last_active(database_url: str, store_id: str, when: int) -> None:
    """Write the store's last_active_at straight into the database, as time passing would."""

    async def run() -> None:
        engine = create_engine(database_url)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    update(VectorStoreRow)
                    .where(VectorStoreRow.id == store_id)
                    .values(last_active_at=when)
                )
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


async def get_store(client: httpx.AsyncClient, store_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/vector_stores/{store_id}")
    assert response.status_code == 200, response.text
    store: dict[str, Any] = response.json()
    return store


async def listed(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    page = (await client.get("/v1/vector_stores", params={"limit": 100})).json()
    return {store["id"]: store for store in page["data"]}


async def test_a_store_expires_days_after_its_last_activity_until_its_policy_is_removed(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    store = await create_store(client, expires_after={"anchor": "last_active_at", "days": 2})
    assert store["expires_after"] == {"anchor": "last_active_at", "days": 2}
    assert store["expires_at"] == store["last_active_at"] + 2 * DAY
    assert store["status"] == "completed"
    lasting = (await create_store(client))["id"]  # no policy: never expires

    # Active 2 days less 5 minutes ago: not expired yet.
    almost = int(time.time()) - 2 * DAY + 300
    set_last_active(settings.database_url, store["id"], almost)
    fresh = await get_store(client, store["id"])
    assert (fresh["status"], fresh["expires_at"]) == ("completed", almost + 2 * DAY)

    # Active 2 days and 10 seconds ago: expired, in GET and in the list alike.
    old = int(time.time()) - 2 * DAY - 10
    set_last_active(settings.database_url, store["id"], old)
    expired = await get_store(client, store["id"])
    assert expired["status"] == "expired" and expired["expires_at"] == old + 2 * DAY
    assert expired["last_active_at"] == old
    everything = await listed(client)
    assert everything[store["id"]]["status"] == "expired"
    assert everything[store["id"]]["expires_at"] == old + 2 * DAY
    assert everything[lasting]["status"] == "completed"
    assert everything[lasting]["expires_at"] is None

    # Without a policy the store lasts, however long it stays idle.
    updated = await client.post(f"/v1/vector_stores/{store['id']}", json={"expires_after": None})
    assert updated.status_code == 200, updated.text
    assert updated.json()["expires_at"] is None and updated.json()["expires_after"] is None
    assert updated.json()["status"] == "completed"
    set_last_active(settings.database_url, store["id"], int(time.time()) - 365 * DAY)
    idle = await get_store(client, store["id"])
    assert (idle["status"], idle["expires_at"]) == ("completed", None)
    assert (await listed(client))[store["id"]]["status"] == "completed"


async def test_an_expired_store_refuses_searches_and_stays_expired(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    store_id, _ = await store_of_docs(
        client, {"paris.txt": None}, expires_after={"anchor": "last_active_at", "days": 1}
    )
    assert (await search(client, store_id, query="capital of France")).status_code == 200
    old = int(time.time()) - DAY - 60
    set_last_active(settings.database_url, store_id, old)

    refused = await search(client, store_id, query="capital of France")
    assert_error(refused, 400, param="vector_store_id")
    assert refused.json()["error"]["code"] == "vector_store_expired"
    # A refused search is no activity: the store is not brought back to life by it.
    after = await get_store(client, store_id)
    assert (after["status"], after["last_active_at"]) == ("expired", old)


async def test_a_search_refreshes_last_active_at_once_it_is_older_than_the_resolution(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    store_id, _ = await store_of_docs(
        client, {"paris.txt": None}, expires_after={"anchor": "last_active_at", "days": 1}
    )

    # Active less than ACTIVE_RESOLUTION ago: a search writes nothing.
    recent = int(time.time()) - ACTIVE_RESOLUTION + 15
    set_last_active(settings.database_url, store_id, recent)
    for _ in range(3):
        found = await search(client, store_id, query="capital of France")
        assert found.status_code == 200 and found.json()["data"], found.text
    unchanged = await get_store(client, store_id)
    assert unchanged["last_active_at"] == recent
    assert unchanged["expires_at"] == recent + DAY

    # Active longer ago: the next search makes now its last activity, and moves the expiry.
    stale = int(time.time()) - ACTIVE_RESOLUTION - 15
    set_last_active(settings.database_url, store_id, stale)
    before = int(time.time())
    assert (await search(client, store_id, query="capital of France")).status_code == 200
    refreshed = await get_store(client, store_id)
    assert before <= refreshed["last_active_at"] <= int(time.time())
    assert refreshed["expires_at"] == refreshed["last_active_at"] + DAY
    assert refreshed["status"] == "completed"
