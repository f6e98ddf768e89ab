"""Submit one JSON return with nats-py and print the JSON receipt: proof another language can take part.

Usage: python3 submit_json.py NATS_URL ORG RETURN_JSON
"""
import asyncio
import sys

try:
    import nats
except ImportError:
    sys.stderr.write("nats-py is not installed: pip install nats-py\n")
    sys.exit(3)


async def main(url: str, org: str, body: str) -> None:
    nc = await nats.connect(url)
    try:
        reply = await nc.request(
            f"oversight.submit.{org}",
            body.encode(),
            timeout=10,
            headers={"Content-Type": "application/json"},
        )
        print(reply.data.decode())
    finally:
        await nc.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
