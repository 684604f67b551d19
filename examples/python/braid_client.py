#!/usr/bin/env python3
"""A Braid client in Python, from the protobuf files alone (issue 13, item 6).

It shows that Braid's public API is language-neutral: with stubs generated from proto/ by protoc
(see generate.sh) and grpcio, it

1. creates a raw stream (CreateStream),
2. follows it from the beginning in a thread (Subscribe), resuming from its last cursor if the
   connection breaks,
3. produces records with keys, values and headers exactly once (Append: a producer id and a
   sequence per partition; a retry after RETRY, NOT_LEADER or a lost connection resends the same
   batch, and a deliberate resend of the first batch is answered as a duplicate, not stored),
4. checks that the subscriber saw every record once, byte for byte, in order per partition,
5. appends typed air-quality readings (AirQualityReading messages) to the default `airquality`
   stream and reads them back with a typed query (QueryRequest.typed).

The last line it prints is `RESULT {json}` (counts, SHA-256 of every value, the readings sent, as
base64 protobuf), which the end-to-end test checks; the exit code is 0 only if every check held.

    ./generate.sh /tmp/braid-stubs
    python3 braid_client.py --stubs /tmp/braid-stubs --seeds 127.0.0.1:7101,127.0.0.1:7102 \\
        --ca .braid/cluster/certs/ca.crt --cert .braid/cluster/certs/client-admin.crt \\
        --key .braid/cluster/certs/client-admin.key
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import sys
import threading
import time
import zlib
from dataclasses import dataclass, field

# The stubs (braid.v1.*_pb2) are imported in main(), once --stubs is on the path.
pb = None  # braid.v1.client_pb2
records_pb = None  # braid.v1.records_pb2
filter_pb = None  # braid.v1.filter_pb2
grpc_stubs = None  # braid.v1.client_pb2_grpc
grpc = None  # the grpc module

RETRYABLE_CODES = ("UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL", "UNKNOWN")


class BraidError(Exception):
    """A failure the example cannot recover from (refused request, time out, mismatch)."""


@dataclass
class Cluster:
    """Channels to every seed; calls go to one, and move to the next when it is unreachable."""

    seeds: list[str]
    credentials: object | None
    server_name: str | None
    current: int = 0
    channels: dict[str, object] = field(default_factory=dict)

    def stub(self, seed: str | None = None):
        address = seed or self.seeds[self.current]
        if address not in self.channels:
            options = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]
            if self.server_name:
                options.append(("grpc.ssl_target_name_override", self.server_name))
            if self.credentials is None:
                self.channels[address] = grpc.insecure_channel(address, options=options)
            else:
                self.channels[address] = grpc.secure_channel(address, self.credentials, options=options)
        return grpc_stubs.StreamStub(self.channels[address])

    def next_seed(self) -> None:
        self.current = (self.current + 1) % len(self.seeds)

    def call(self, method: str, request, deadline: float, timeout_s: float = 10.0):
        """A unary call, retried on the next seed while the failure is a connection's, until `deadline`."""
        while True:
            try:
                return getattr(self.stub(), method)(request, timeout=timeout_s)
            except grpc.RpcError as error:
                if error.code().name not in RETRYABLE_CODES or time.monotonic() > deadline:
                    raise BraidError(f"{method} failed: {error.code().name}: {error.details()}") from error
                self.next_seed()
                time.sleep(0.2)

    def copy(self) -> "Cluster":
        """The same seeds and credentials with channels of its own, for another thread."""
        return Cluster(self.seeds, self.credentials, self.server_name, self.current)

    def close(self) -> None:
        for channel in self.channels.values():
            channel.close()


def append_exactly_once(cluster: Cluster, request, deadline: float):
    """Sends one batch until it is committed: the same (producer, sequence) every time, so a batch
    whose first attempt was stored after all is answered as a duplicate, never stored twice."""
    backoff = 0.05
    while True:
        reply = cluster.call("Append", request, deadline)
        status = pb.AppendStatus.Name(reply.status)
        if status == "APPEND_OK":
            return reply
        if status == "OUT_OF_ORDER":
            raise BraidError(f"sequence {request.sequence} skipped ahead; the node expects {reply.expected_sequence}")
        if time.monotonic() > deadline:
            raise BraidError(f"batch ({request.producer},{request.sequence}) not committed in time: {status} {reply.error}")
        # NOT_LEADER (no leader yet, or forwarding failed), RETRY (leadership changed), NO_SPACE.
        time.sleep(backoff + random.random() * backoff)
        backoff = min(backoff * 2, 1.0)


def make_records(count: int, seed: int) -> list:
    """Records with unique keys, values of every byte value and of several sizes, and headers."""
    rng = random.Random(seed)
    produced = []
    for i in range(count):
        size = rng.choice([0, 1, 255, 256, 4096, rng.randint(2, 3000)])
        value = bytes(range(256)) * (size // 256) + rng.randbytes(size % 256)
        record = records_pb.RawRecord(key=f"key-{i:05d}".encode(), value=value, timestamp_ms=int(time.time() * 1000))
        record.headers.add(key="source", value=b"python")
        record.headers.add(key="n", value=str(i).encode())
        produced.append(record)
    return produced


def produce(cluster: Cluster, stream: str, partitions: int, records: list, batch: int, deadline: float):
    """Appends the records, keyed to partitions by CRC-32 of the key, in batches per partition.
    Returns the records per partition in produced order and how many resends were duplicates."""
    producer = random.SystemRandom().randrange(1, 2**63)
    by_partition: dict[int, list] = {p: [] for p in range(partitions)}
    for record in records:
        by_partition[zlib.crc32(record.key) % partitions].append(record)
    first_request = None
    for partition, items in by_partition.items():
        for sequence, start in enumerate(range(0, len(items), batch), start=1):
            request = pb.AppendRequest(stream=stream, partition=partition, producer=producer,
                                       sequence=sequence, forward=True, records=items[start:start + batch])
            append_exactly_once(cluster, request, deadline)
            if first_request is None:
                first_request = request
    # Exactly once: a resend of a committed batch (as after a lost reply) is recognised and dropped.
    duplicates = 0
    if first_request is not None and append_exactly_once(cluster, first_request, deadline).duplicate:
        duplicates = 1
    return by_partition, duplicates


class Tail(threading.Thread):
    """Follows a stream from its beginning until `expected` records arrived (or `stop` is set),
    resuming from the last chunk's cursor on another seed when the connection breaks."""

    def __init__(self, cluster: Cluster, stream: str, deadline: float):
        super().__init__(daemon=True)
        self.cluster, self.stream, self.deadline = cluster, stream, deadline
        self.expected = None  # set once production has ended
        self.seen: dict[tuple, object] = {}  # (partition, index, ordinal) -> RawRecord
        self.order: list[tuple] = []
        self.duplicates = 0
        self.error: str | None = None
        self.stop = threading.Event()

    def done(self) -> bool:
        return self.expected is not None and len(self.seen) >= self.expected

    def run(self) -> None:
        cursor = b""
        while not self.stop.is_set() and not self.done() and time.monotonic() < self.deadline:
            request = pb.SubscribeRequest(stream=self.stream, start=pb.SubscribeRequest.BEGINNING, cursor=cursor)
            call = self.cluster.stub().Subscribe(request, timeout=max(1.0, self.deadline - time.monotonic()))
            try:
                for chunk in call:
                    for record, position in zip(chunk.raw_records, chunk.positions):
                        where = (position.partition, position.index, position.ordinal)
                        if where in self.seen:
                            self.duplicates += 1
                        else:
                            self.seen[where] = record
                            self.order.append(where)
                    cursor = chunk.cursor or cursor
                    if self.done() or self.stop.is_set():
                        call.cancel()
                        return
            except grpc.RpcError as error:
                if error.code() == grpc.StatusCode.CANCELLED:
                    return
                # NOT_FOUND: a node that has not yet learnt of the new stream (it fetches the catalog).
                if error.code().name not in RETRYABLE_CODES + ("NOT_FOUND",):
                    self.error = f"Subscribe failed: {error.code().name}: {error.details()}"
                    return
                self.cluster.next_seed()
                time.sleep(0.2)


def check_tail(tail: Tail, by_partition: dict[int, list]) -> tuple[bool, bool]:
    """(identical, in_order): every produced record seen with the same key, value, headers and
    timestamp, and in produced order within its partition."""
    produced = {r.key: r for items in by_partition.values() for r in items}
    identical = len(tail.seen) == len(produced) and all(
        r.key in produced and produced[r.key] == r for r in tail.seen.values())
    in_order = True
    for partition, items in by_partition.items():
        read = [tail.seen[w].key for w in sorted(w for w in tail.order if w[0] == partition)]
        in_order &= read == [r.key for r in items]
    return identical, in_order


def make_readings(site: str) -> list:
    """Readings of one made-up site; the last keeps its own line (four decimals, as some files write)."""
    readings = []
    for hour, (parameter, unit, concentration, aqi) in enumerate(
            [("PM2.5", "UG/M3", 35.5, 101), ("OZONE", "PPB", 41.0, 38), ("CO", "PPM", 0.25, 3), ("PM10", "UG/M3", 12.0, -999)]):
        readings.append(records_pb.AirQualityReading(
            latitude=37.7425, longitude=-122.1697, time=f"2020-09-01T{hour:02d}:00", parameter=parameter,
            concentration=concentration, unit=unit, raw_concentration=concentration + 0.5, aqi=aqi,
            category=0 if aqi == -999 else 1 + aqi // 51, site_name=site, site_agency="Braid examples",
            aqs_id="060010009", full_aqs_id="840060010009"))
    line = ",".join(f'"{v}"' for v in ["37.7425", "-122.1697", "2020-09-01T05:00", "NO2", "7.00", "PPB", "6.8", "6", "1",
                                       site.replace('"', '""'), "Braid examples", "060010009", "840060010009"])
    readings.append(records_pb.AirQualityReading(
        latitude=37.7425, longitude=-122.1697, time="2020-09-01T05:00", parameter="NO2", concentration=7.0,
        unit="PPB", raw_concentration=6.8, aqi=6, category=1, site_name=site, site_agency="Braid examples",
        aqs_id="060010009", full_aqs_id="840060010009", source_line=line))
    return readings


def typed_round_trip(cluster: Cluster, site: str, deadline: float) -> tuple[list, list]:
    """Appends readings to the `airquality` stream, then reads them back with a typed query."""
    sent = make_readings(site)
    described = cluster.call("Describe", pb.DescribeRequest(), deadline)
    partitions = next((len(s.partitions) for s in described.streams if s.name == "airquality"), len(described.partitions))
    partition = zlib.crc32(site.encode()) % max(partitions, 1)
    producer = random.SystemRandom().randrange(1, 2**63)
    request = pb.AppendRequest(stream="airquality", partition=partition, producer=producer, sequence=1, forward=True, readings=sent)
    append_exactly_once(cluster, request, deadline)
    query = pb.QueryRequest(stream="airquality", typed=True, filter=filter_pb.QueryFilter(site=site))
    read = []
    for chunk in cluster.stub().Query(query, timeout=max(1.0, deadline - time.monotonic())):
        if chunk.records:
            raise BraidError("a typed query answered codec bytes")
        read.extend(chunk.readings)
    return sent, read


def credentials_from(args):
    if args.insecure:
        return None
    if not (args.ca and args.cert and args.key):
        raise SystemExit("give --ca, --cert and --key (the cluster's certs/ca.crt and a client certificate), or --insecure")
    with open(args.ca, "rb") as ca, open(args.cert, "rb") as cert, open(args.key, "rb") as key:
        return grpc.ssl_channel_credentials(root_certificates=ca.read(), certificate_chain=cert.read(), private_key=key.read())


def import_stubs(directory: str) -> None:
    global pb, records_pb, filter_pb, grpc_stubs, grpc
    sys.path.insert(0, directory)
    import grpc as grpc_module
    from braid.v1 import client_pb2, client_pb2_grpc, filter_pb2, records_pb2
    pb, records_pb, filter_pb, grpc_stubs, grpc = client_pb2, records_pb2, filter_pb2, client_pb2_grpc, grpc_module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stubs", required=True, help="folder of the stubs generate.sh made from proto/")
    parser.add_argument("--seeds", required=True, help="HOST:PORT,... of some nodes")
    parser.add_argument("--ca", help="the cluster CA (certs/ca.crt)")
    parser.add_argument("--cert", help="a client certificate with roles produce, consume and admin (certs/client-admin.crt)")
    parser.add_argument("--key", help="its key (certs/client-admin.key)")
    parser.add_argument("--server-name", help="the name to expect in node certificates, if not the seed's host")
    parser.add_argument("--insecure", action="store_true", help="plaintext, for a cluster started with --insecure")
    parser.add_argument("--stream", help="the raw stream to create (default: py-<random>)")
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--batch", type=int, default=16, help="records per Append")
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--seed", type=int, default=13, help="for the record values")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds for the whole run")
    args = parser.parse_args()
    import_stubs(args.stubs)
    deadline = time.monotonic() + args.timeout
    run = f"{random.SystemRandom().randrange(16**8):08x}"
    stream = args.stream or f"py-{run}"
    cluster = Cluster([s.strip() for s in args.seeds.split(",") if s.strip()], credentials_from(args), args.server_name)
    try:
        created = cluster.call("CreateStream", pb.CreateStreamRequest(
            name=stream, format="raw", partitions=args.partitions, replicas=args.replicas), deadline, timeout_s=30)
        print(f"created stream {created.name} (id {created.id}, {len(created.partitions)} partitions)", flush=True)
        tail_cluster = cluster.copy()
        tail = Tail(tail_cluster, stream, deadline)
        tail.start()
        produced = make_records(args.records, args.seed)
        by_partition, duplicates = produce(cluster, stream, len(created.partitions), produced, args.batch, deadline)
        print(f"produced {len(produced)} records exactly once; a resent batch was a duplicate: {duplicates == 1}", flush=True)
        tail.expected = len(produced)
        tail.join(max(0.0, deadline - time.monotonic()))
        tail.stop.set()
        tail_cluster.close()
        if tail.error:
            raise BraidError(tail.error)
        identical, in_order = check_tail(tail, by_partition)
        print(f"tailed {len(tail.seen)} records ({tail.duplicates} seen twice): identical {identical}, in order {in_order}", flush=True)
        site = f"Braid Python example {run}"
        sent, read = typed_round_trip(cluster, site, deadline)
        readings_equal = sorted(r.SerializeToString() for r in sent) == sorted(r.SerializeToString() for r in read)
        print(f"appended {len(sent)} air-quality readings, read back {len(read)}: equal {readings_equal}", flush=True)
        result = {
            "stream": stream, "produced": len(produced), "tailed": len(tail.seen), "tailed_twice": tail.duplicates,
            "duplicates_dropped": duplicates, "identical": identical, "in_order": in_order,
            "value_sha256": sorted(hashlib.sha256(r.value).hexdigest() for r in produced),
            "site": site, "readings_sent": len(sent), "readings_read": len(read), "readings_equal": readings_equal,
            "readings": [base64.b64encode(r.SerializeToString()).decode() for r in sent],
        }
        print("RESULT " + json.dumps(result), flush=True)
        ok = (len(tail.seen) == len(produced) and tail.duplicates == 0 and duplicates == 1
              and identical and in_order and readings_equal and len(read) == len(sent))
        return 0 if ok else 1
    except BraidError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        cluster.close()


if __name__ == "__main__":
    sys.exit(main())
