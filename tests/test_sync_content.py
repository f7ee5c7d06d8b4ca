"""A record's canonical content and hash never change for the same content.

The hashes below were computed by the code before the canonical JSON was rewritten for speed
(issue 11): records already on a server must still be recognised as replays.
"""
import pytest

from fieldlog.services.records.content import content_hash, version_content
from fieldlog.services.records.sync import validate_record
from tests.sync_samples import RECORDS

PINNED = {
    "visit": "a0f13353d060299c84734f74a6a992d8684e7611c9bfec31c8261b66d46e9d7c",
    "visit-urn": "66533d3502604b318f45ce886e937e028db48ab17d3164a4494844e6803abe41",
    "meeting": "e33bb606cf4cd6c400509558281c5df0d292674f8ec1a9896006753a15857681",
    "action": "0dc4a545a05f23bbcbb3d95cd61e951ff15b56654683e82db76120504d935a18",
    "goal": "2743ec8496af567e946075fcd926e396ec38eba30806d2c8c0fa3ec337618560",
    "ledger_item": "d40ef2d8be9488bb289e8ecddea5e019adf407695b36ecf86aac99cf656ed800",
    "ledger_update": "43957065c423e011c9088bd952d7025f8a2d6871f408482c3f0d22e482a8aa81",
    "day_mark": "e031f78eeaffe6c135c46b0bc0244d8633a13d912e6a25b2abc9e483c9ae09b6",
    "leave": "ab44cda49023c2cb83256d86a0ab7006c7809211d39c44f37bea23a5d59450d1",
}
NAMES = ["visit", "visit-urn", *[r["type"] for r in RECORDS[2:]]]


@pytest.mark.parametrize("raw, name", list(zip(RECORDS, NAMES, strict=True)), ids=NAMES)
def test_content_hash_is_pinned(raw, name):
    data, refused = validate_record(raw)
    assert refused is None
    assert content_hash(data) == PINNED[name]


def test_canonical_json_writes_utc_times_canonical_uuids_sorted_keys():
    data, _ = validate_record(RECORDS[0])
    assert version_content(data) == (
        '{"device_created_at":"2026-03-02T01:20:00Z","follow_up":true,'
        '"heard":"老人腿脚不便，\\n儿子在外打工。\\"引号\\" \\\\ 😀",'
        '"household_id":"0b7c1e2a-7d1e-4c8f-9a1b-3c5d7e9f1a2b",'
        '"id":"6f1c3a52-5c0e-4d6b-9a53-0d2f8e1b7c11",'
        '"location":{"accuracy_m":12.0,"lat":26.0,"located_at":"2026-03-02T14:44:00Z",'
        '"lon":106.7102},"occurred_at":"2026-03-02T01:15:30.250000Z",'
        '"photo_ids":["9d1f0c5e-0b8a-4f3e-8a63-2b1e4c6d8f00",'
        '"1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed"],"requests":" 修沟 ","type":"visit"}')
    assert "base_version" not in version_content(data)  # an edit's base is not content
