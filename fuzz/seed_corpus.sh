#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seeds built from testdata/vectors/protocomm/*.json.
#
# Idempotent: every seed is named after the SHA-1 of its contents (libFuzzer's own naming), so
# re-running rewrites the same files and never touches inputs the fuzzer added itself.
# The byte layouts must match fuzz/src/lib.rs (ENDPOINTS, frames, records).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
vectors="${here}/../testdata/vectors/protocomm"
corpus="${here}/corpus"

python3 - "$vectors" "$corpus" <<'PY'
import hashlib, json, os, sys

vectors, corpus = sys.argv[1], sys.argv[2]
# Same order as ENDPOINTS in fuzz/src/lib.rs; selectors below 8 leave the clock alone.
ENDPOINTS = ["proto-ver", "prov-session", "prov-config", "prov-scan", "prov-ctrl",
             "custom-data", "no-such-endpoint"]

def load(name):
    with open(os.path.join(vectors, name)) as f:
        return json.load(f)

seeds = {t: set() for t in ["device_sec0", "device_sec1", "device_sec2_parse", "client_sec0",
                            "client_sec1", "client_sec2_parse", "proto_ver", "proto_messages"]}
seeds["http_request"] = set()

def frame(b):
    assert len(b) <= 255, len(b)
    return bytes([len(b)]) + b

def record(endpoint, b):
    return bytes([ENDPOINTS.index(endpoint)]) + frame(b)

def session_msgs(doc, direction):
    return [(m["endpoint"], bytes.fromhex(m["hex"])) for m in doc["session_transcript"]
            if m["direction"] == direction]

def app_msgs(doc, direction, field="ciphertext_hex"):
    return [(m["endpoint"], bytes.fromhex(m[field])) for m in doc["application_transcript"]
            if m["direction"] == direction]

sec0, sec1 = load("sec0.json"), load("sec1.json")
sec2 = [load("sec2_patch0.json"), load("sec2_patch1.json")]
wifi = load("wifi_messages.json")

# device_sec0: [selector][request]
for ep, b in session_msgs(sec0, "client->device") + app_msgs(sec0, "client->device"):
    seeds["device_sec0"].add(bytes([ENDPOINTS.index(ep)]) + b)
for doc in [sec1] + sec2:
    for ep, b in session_msgs(doc, "client->device"):
        if ep == "proto-ver":
            seeds["device_sec0"].add(bytes([0]) + b)
seeds["device_sec0"].add(bytes([6]) + b"\x52\x00")

# device_sec1: the whole client side of sec1.json as records, plus its handshake prefixes
# (the target's RNG replays the vector's device draws, so this transcript is accepted).
client = session_msgs(sec1, "client->device") + app_msgs(sec1, "client->device")
for n in range(1, len(client) + 1):
    seeds["device_sec1"].add(b"".join(record(ep, b) for ep, b in client[:n]))

# client_sec0: the device's session answer.
for ep, b in session_msgs(sec0, "device->client"):
    if ep == "prov-session":
        seeds["client_sec0"].add(b)

# client_sec1: Resp0, Resp1, then the device's application answers as frames.
resps = [b for ep, b in session_msgs(sec1, "device->client") if ep == "prov-session"]
apps = [b for ep, b in app_msgs(sec1, "device->client") if len(b) <= 255]
seeds["client_sec1"].add(frame(resps[0]))
seeds["client_sec1"].add(b"".join(frame(b) for b in resps))
seeds["client_sec1"].add(b"".join(frame(b) for b in resps + apps))

# security 2 decoders
for doc in sec2:
    for ep, b in session_msgs(doc, "client->device"):
        if ep == "prov-session":
            seeds["device_sec2_parse"].add(b)
    for ep, b in session_msgs(doc, "device->client"):
        if ep == "prov-session":
            seeds["client_sec2_parse"].add(b)

# proto_ver: every device document, the proto-ver requests (plain text), and older shapes.
for doc in [sec0, sec1] + sec2:
    seeds["proto_ver"].add(doc["proto_ver_json"].encode())
    for ep, b in session_msgs(doc, "client->device") + session_msgs(doc, "device->client"):
        if ep == "proto-ver":
            seeds["proto_ver"].add(b)
seeds["proto_ver"].add(b'{"prov":{"ver":"v1.0","cap":["no_sec"]}}')
seeds["proto_ver"].add(b'{"my_app":{"ver":"1.0","cap":["a","b"]},"prov":{"ver":"v1.1","sec_ver":2,"sec_patch_ver":1,"cap":["wifi_scan"]}}')
seeds["proto_ver"].add(b"V0.1\x00")

# proto_messages: every plaintext protobuf in the vectors.
for m in wifi["messages"]:
    seeds["proto_messages"].add(bytes.fromhex(m["hex"]))
for doc in [sec0, sec1] + sec2:
    for d in ["client->device", "device->client"]:
        for ep, b in session_msgs(doc, d):
            if ep == "prov-session":
                seeds["proto_messages"].add(b)
        for ep, b in app_msgs(doc, d, "plaintext_hex"):
            if ep != "custom-data":
                seeds["proto_messages"].add(b)

# session_table: operation scripts (see fuzz_targets/session_table.rs): connects from two
# sources, handshakes with the right and a wrong PoP, a foreign claim, clock steps, a held job.
seeds["session_table"] = {
    bytes([0, 0, 0, 1, 3, 0, 0, 0, 4, 0, 0, 0]),
    bytes([0, 0, 0, 1, 3, 0, 0, 1, 4, 0, 0, 3, 1, 2, 4, 1, 1, 6, 1, 0x82, 3]),
    bytes([0, 1] + [3, 0, 0, 1, 4, 0, 0, 0] * 6 + [7, 0, 30, 3, 0, 0, 0, 4, 0, 0, 0]),
    bytes([0, 0, 0, 2, 8, 0, 0, 8, 1, 2, 2, 1, 6, 8, 0, 0, 7, 0, 200, 8, 0, 2]),
}

# http_request: raw HTTP/1.1 as esp_prov sends it (0xFF splits writes), wrapping the sec0
# client's requests; plus the refusals (404, 405, 411, 400) and a pipelined pair.
def post(ep, body, extra=b""):
    return (b"POST /" + ep.encode() + b" HTTP/1.1\r\nHost: 192.168.4.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nAccept: text/plain\r\n"
            + extra + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
client0 = session_msgs(sec0, "client->device") + app_msgs(sec0, "client->device")
for ep, b in client0:
    seeds["http_request"].add(post(ep, b))
seeds["http_request"].add(b"".join(post(ep, b, b"Cookie: session=1\r\n") for ep, b in client0))
seeds["http_request"].add(post("proto-ver", b"---") + b"\xff" + post("custom-data", b"hi"))
seeds["http_request"].add(b"GET /proto-ver HTTP/1.1\r\nHost: x\r\n\r\n")
seeds["http_request"].add(b"POST /nowhere?x=1 HTTP/1.1\r\nContent-Length: 1\r\n\r\nx")
seeds["http_request"].add(b"POST /proto-ver HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n")
seeds["http_request"].add(b"POST /proto-ver HTTP/1.1\r\nContent-Length: 9999\r\n\r\n")
seeds["http_request"].add(b"POST /proto-ver HTTP/1.1\r\n\xffContent-Length: 3\r\n\r\n-\xff--")

# portal_dns: plain A, AAAA and HTTPS queries (with and without an EDNS record) for probe hosts.
def dns_query(name, qtype, edns=False):
    q = bytes([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1 if edns else 0])
    q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + qtype.to_bytes(2, "big") + b"\0\x01"
    return q + (b"\0\0\x29\x04\xd0\0\0\0\0\0\0" if edns else b"")
seeds["portal_dns"] = {dns_query(n, t, e) for n in ("connectivitycheck.gstatic.com", "captive.apple.com", "www.msftconnecttest.com")
                       for t in (1, 28, 65) for e in (False, True)}

total = 0
for target, items in sorted(seeds.items()):
    out = os.path.join(corpus, target)
    os.makedirs(out, exist_ok=True)
    for b in sorted(items):
        path = os.path.join(out, hashlib.sha1(b).hexdigest())
        with open(path, "wb") as f:
            f.write(b)
    total += len(items)
    print(f"{target:18} {len(items):3} seeds -> {out}")
print(f"{total} seeds written")
PY

# SmartConfig: length streams (u16 little endian) built from the SmartConfig vectors, shifted by
# typical link offsets; 802.11 frames (one selector byte, then the frame).
python3 - "${here}/../testdata/vectors/smartconfig" "$corpus" <<'PY'
import hashlib, json, os, struct, sys

vectors, corpus = sys.argv[1], sys.argv[2]

def load(name):
    with open(os.path.join(vectors, name)) as f:
        return json.load(f)

def lengths(seq, k):
    return b"".join(struct.pack("<H", (x + k) & 0xFFFF) for x in seq)

seeds = {"sc_esptouch_v1": set(), "sc_esptouch_v2": set(), "sc_airkiss": set(),
         "sc_frame": set(), "sc_receiver": set(), "sc_pcap": set()}
for case in load("esptouch-v1.json")["cases"]:
    seq = case["guide_lengths"] + case["datum_lengths"]
    for k in (0, 80):
        seeds["sc_esptouch_v1"].add(lengths(seq * 2, k))
for case in load("esptouch-v2.json")["cases"]:
    for k in (0, 82):
        seeds["sc_esptouch_v2"].add(bytes([0]) + lengths(case["packet_lengths"] * 2, k))
        seeds["sc_esptouch_v2"].add(bytes([1]) + lengths(case["packet_lengths"] * 2, k))
for name in ("airkiss.json", "airkiss-derived.json"):
    for case in load(name)["cases"]:
        seq = case.get("one_repetition_lengths") or case.get("one_repetition_lengths_zhchbin_schedule")
        for k in (0, 80):
            seeds["sc_airkiss"].add(bytes([0]) + lengths(seq * 2, k))

def data_frame(from_ds, qos, body_len, seq):
    bssid, sa, da = bytes([2, 0, 0, 0, 0, 1]), bytes([2, 0, 0, 0, 0, 2]), b"\xff" * 6
    fc = bytes([0x88 if qos else 0x08, 0x02 if from_ds else 0x01])
    addrs = da + bssid + sa if from_ds else bssid + sa + da
    hdr = fc + b"\x00\x00" + addrs + struct.pack("<H", seq << 4) + (b"\x00\x00" if qos else b"")
    return hdr + b"\xaa" * body_len

radiotap = bytes([0, 0, 8, 0, 0, 0, 0, 0])
# radiotap with flags (FCS absent) and channel 6 (2437 MHz)
radiotap_ch = bytes([0, 0, 16, 0, 0x0a, 0, 0, 0, 0x00, 0, 0x85, 0x09, 0xa0, 0x00, 0, 0])
for i, (from_ds, qos) in enumerate([(True, False), (False, True), (True, True)]):
    frame = data_frame(from_ds, qos, 100 + i, i)
    seeds["sc_frame"].add(bytes([0]) + radiotap + frame)
    seeds["sc_frame"].add(bytes([0]) + radiotap_ch + frame)
    seeds["sc_frame"].add(bytes([1]) + frame)

# sc_receiver: selector 0 (ESPTouch) / 2 (combined), one phone, from-DS, group destination.
for case in load("esptouch-v1.json")["cases"][:2]:
    seq = case["guide_lengths"] * 2 + case["datum_lengths"] * 2
    for sel in (0, 2):
        recs = b"".join(bytes([8, 7, 1, 1 | 4 | 8]) + struct.pack("<HH", i, x + 80) for i, x in enumerate(seq))
        seeds["sc_receiver"].add(bytes([sel]) + recs)

# sc_pcap: classic pcap (radiotap and plain 802.11) and a minimal pcapng.
frames = [data_frame(True, False, 100 + i, i) for i in range(4)]
for linktype, prefix in ((127, radiotap), (105, b"")):
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)
    for i, fr in enumerate(frames):
        body = prefix + fr
        out += struct.pack("<IIII", 1, i * 1000, len(body), len(body)) + body
    seeds["sc_pcap"].add(out)
shb = struct.pack("<IIIHHq", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1) + struct.pack("<I", 28)
idb = struct.pack("<IIHHI", 1, 20, 127, 0, 65535) + struct.pack("<I", 20)
epbs = b""
for i, fr in enumerate(frames):
    body = radiotap + fr
    pad = (-len(body)) % 4
    total = 32 + len(body) + pad
    epbs += struct.pack("<IIIIIII", 6, total, 0, 0, i * 1000, len(body), len(body)) + body + b"\x00" * pad + struct.pack("<I", total)
seeds["sc_pcap"].add(shb + idb + epbs)

# session_table: operation scripts (see fuzz_targets/session_table.rs): connects from two
# sources, handshakes with the right and a wrong PoP, a foreign claim, clock steps, a held job.
seeds["session_table"] = {
    bytes([0, 0, 0, 1, 3, 0, 0, 0, 4, 0, 0, 0]),
    bytes([0, 0, 0, 1, 3, 0, 0, 1, 4, 0, 0, 3, 1, 2, 4, 1, 1, 6, 1, 0x82, 3]),
    bytes([0, 1] + [3, 0, 0, 1, 4, 0, 0, 0] * 6 + [7, 0, 30, 3, 0, 0, 0, 4, 0, 0, 0]),
    bytes([0, 0, 0, 2, 8, 0, 0, 8, 1, 2, 2, 1, 6, 8, 0, 0, 7, 0, 200, 8, 0, 2]),
}

# improv: a selector (bit 0: BLE, the rest: write size) and the commands of
# crates/improv/tests/vectors.rs, as a serial stream with console text and as BLE writes.
def improv_rpc(command, data=b""):
    return bytes([command, len(data)]) + data
def improv_packet(kind, data):
    b = b"IMPROV" + bytes([1, kind, len(data)]) + data
    return b + bytes([sum(b) & 0xFF])
improv_rpcs = [improv_rpc(1, bytes([12]) + b"MyWirelessAP" + bytes([16]) + b"mysecurepassword"),
               improv_rpc(2), improv_rpc(3), improv_rpc(4), improv_rpc(5), improv_rpc(5, b"kitchen-pi"),
               improv_rpc(6, b"Kitchen Pi"), improv_rpc(7), improv_rpc(0x42, b"x")]
seeds["improv"] = {
    bytes([0x28]) + b"boot log\n".join(improv_packet(3, r) for r in improv_rpcs),
    bytes([0x29]) + b"".join(r + bytes([sum(r) & 0xFF]) for r in improv_rpcs),
    bytes([0x03]) + improv_rpcs[0] + bytes([sum(improv_rpcs[0]) & 0xFF]),
}

# portal_dns: plain A, AAAA and HTTPS queries (with and without an EDNS record) for probe hosts.
def dns_query(name, qtype, edns=False):
    q = bytes([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1 if edns else 0])
    q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + qtype.to_bytes(2, "big") + b"\0\x01"
    return q + (b"\0\0\x29\x04\xd0\0\0\0\0\0\0" if edns else b"")
seeds["portal_dns"] = {dns_query(n, t, e) for n in ("connectivitycheck.gstatic.com", "captive.apple.com", "www.msftconnecttest.com")
                       for t in (1, 28, 65) for e in (False, True)}

total = 0
for target, items in sorted(seeds.items()):
    out = os.path.join(corpus, target)
    os.makedirs(out, exist_ok=True)
    for b in sorted(items):
        with open(os.path.join(out, hashlib.sha1(b).hexdigest()), "wb") as f:
            f.write(b)
    total += len(items)
    print(f"{target:18} {len(items):3} seeds -> {out}")
print(f"{total} SmartConfig seeds written")
PY

# networks_json: the manager's example files, plus a byte-order mark and a repeated key.
python3 - "${here}/../crates/manager/tests/data" "$corpus" <<'PY'
import glob, hashlib, os, sys

data, corpus = sys.argv[1], sys.argv[2]
seeds = set()
for path in sorted(glob.glob(os.path.join(data, "*.json"))):
    with open(path, "rb") as f:
        text = f.read()
    seeds.add(text)
    seeds.add(b"\xef\xbb\xbf" + text)
seeds.add(b'{"schema": 2, "schema": 2}')
seeds.add(b'{"schema": 2, "known_networks": [{"ssid": "a", "ssid": "b"}], "access_point": {}}')
out = os.path.join(corpus, "networks_json")
os.makedirs(out, exist_ok=True)
for b in sorted(seeds):
    with open(os.path.join(out, hashlib.sha1(b).hexdigest()), "wb") as f:
        f.write(b)
print(f"{'networks_json':18} {len(seeds):3} seeds -> {out}")
PY
