"""Files in S3-compatible object storage: the same upload, download and sweep against
moto's S3 server (a real HTTP server on 127.0.0.1, started here)."""

from __future__ import annotations

import pytest

from tests.helpers import Chat
from tests.venn.api.test_files import png, upload
from venn import keys
from venn.app import create_app

BUCKET = "venn-test-files"


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
async def s3_client(aiohttp_client, make_settings, database_url, s3_endpoint):
    import boto3

    options = dict(
        endpoint_url=s3_endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    s3 = boto3.client("s3", **options)
    s3.create_bucket(Bucket=BUCKET)
    settings = make_settings(
        database_url=database_url, s3_bucket=BUCKET, s3_endpoint_url=s3_endpoint, s3_region="us-east-1",
        s3_access_key_id="test", s3_secret_access_key="test",
    )
    yield await aiohttp_client(create_app(settings)), s3, settings
    for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        s3.delete_object(Bucket=BUCKET, Key=item["Key"])
    s3.delete_bucket(Bucket=BUCKET)


def stored(s3) -> list[str]:
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


async def test_files_live_in_the_bucket(s3_client):
    client, s3, settings = s3_client
    chat = Chat(client)
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "pics", members=[bob])
    data = png(300, 200)
    file = (await upload(client, alice, channel["id"], data))["file"]
    assert file["content_type"] == "image/png" and file["thumbnail_url"]
    keys_ = stored(s3)
    assert len(keys_) == 2 and any(k.endswith(".thumb.jpg") for k in keys_)
    assert not (settings.data_dir / "files").exists()  # nothing on local disk
    message = await chat.post(alice, channel["id"], "from the bucket", file_ids=[file["id"]])
    resp = await client.get(file["url"], headers=bob.headers)
    assert resp.status == 200 and await resp.read() == data and resp.headers["Content-Type"] == "image/png"
    resp = await client.get(file["thumbnail_url"], headers=bob.headers)
    assert resp.status == 200 and resp.headers["Content-Type"] == "image/jpeg"
    # deleted: hidden at once, removed from the bucket by the sweep
    await client.delete(f"/api/v1/messages/{message['id']}", headers=alice.headers)
    assert (await client.get(file["url"], headers=bob.headers)).status == 404
    assert await client.server.app[keys.SERVICES].files.sweep() == 1
    assert stored(s3) == []
