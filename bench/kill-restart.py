#!/usr/bin/env python3
"""kill -9 and restart: no acknowledged write may be lost (issue 12, RELIABILITY.md).

For each backend (SQLite file, PostgreSQL database), for each round: start `offers-api serve`,
write offers (partner API) and widget events from several threads, SIGKILL the server in the
middle of the load, restart it on the same database, and check that every write the server
acknowledged (201 for an offer, an event counted in a 202's `accepted`) is there: each
acknowledged offer by id with its title, each offer's stored impressions at least the
acknowledged ones. Bounded: --rounds rounds of --seconds of load per backend, loopback only.

    bench/kill-restart.py [--backend sqlite|postgres|both] [--rounds 3] [--seconds 4]
                          [--writers 4] [--bin target/debug/offers-api] [--simulate-loss]

Prints one line per round and a summary; exits 1 if any acknowledged write is missing.
"""

import argparse
import datetime
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PG_ADMIN = os.environ.get("OFFERS_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(method, url, body=None, headers=None, timeout=5):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None


def offer(title):
    return {
        "template": 10, "title": title, "text": "Written under load", "link": "https://example.com/",
        "linkText": "Go", "showFrerquency": "ON_ENTRY", "showDelayMS": 0,
        "startTime": "2024-05-22T12:00:01.000Z", "type": "GLOBAL",
    }


class Server:
    def __init__(self, binary, url, port):
        self.binary, self.url, self.port = binary, url, port
        self.base = f"http://127.0.0.1:{port}"
        self.proc = None

    def start(self):
        env = dict(os.environ, RUST_LOG="warn")
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--addr", f"127.0.0.1:{self.port}", "--database-url", self.url,
             "--rate-limit", "0", "--widget-rate-limit", "0", "--retention-interval", "3600"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"offers-api exited: {self.proc.stderr.read().decode()}")
            try:
                if request("GET", self.base + "/healthz", timeout=1)[0] == 200:
                    return time.monotonic()
            except OSError:
                pass
            time.sleep(0.05)
        raise SystemExit("offers-api did not become healthy within 30 s")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Ledger:
    """What the server acknowledged."""

    def __init__(self):
        self.lock = threading.Lock()
        self.offers = {}  # id -> title
        self.events = {}  # offer id -> acknowledged impressions
        self.attempts = 0
        self.failures = 0

    def add_offer(self, oid, title):
        with self.lock:
            self.offers[oid] = title

    def add_events(self, oid, n):
        with self.lock:
            self.events[oid] = self.events.get(oid, 0) + n

    def any_offer(self, rng):
        with self.lock:
            return rng.choice(list(self.offers)) if self.offers else None


def writer(server, creds, ledger, stop, n, seed):
    rng = random.Random(seed)
    headers = {"x-api-key": creds["apiKey"], "Authorization": f"Bearer {creds['token']}"}
    i = 0
    while not stop.is_set():
        i += 1
        with ledger.lock:
            ledger.attempts += 1
        try:
            if i % 2:
                title = f"w{n}-{seed}-{i}"[:23]
                status, body = request("POST", server.base + "/external/offer", offer(title), headers)
                if status == 201:
                    ledger.add_offer(body["offer"]["id"], title)
            else:
                oid = ledger.any_offer(rng)
                if oid is None:
                    continue
                now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
                events = [{"id": f"{seed}-{i}-{k}-{rng.getrandbits(48):x}", "offerId": oid,
                           "kind": "impression", "at": now} for k in range(5)]
                status, body = request("POST", server.base + "/widget/v1/events",
                                       {"key": creds["publicKey"], "room": "load", "events": events})
                if status == 202:
                    rejected = len(body.get("rejected", []))
                    assert body["duplicates"] == 0, body
                    assert body["accepted"] + rejected == len(events), body
                    if rejected:
                        raise SystemExit(f"events rejected: {body}")
                    ledger.add_events(oid, body["accepted"])
        except (OSError, ValueError):
            with ledger.lock:
                ledger.failures += 1
            time.sleep(0.01)  # the server is down: do not spin until it is back


def stored(server, creds):
    headers = {"x-api-key": creds["apiKey"], "Authorization": f"Bearer {creds['token']}"}
    offers, offset = {}, 0
    while True:
        status, page = request("GET", f"{server.base}/external/offer?limit=100&offset={offset}",
                               headers=headers, timeout=30)
        assert status == 200, status
        for o in page:
            offers[o["id"]] = (o["title"], o["stats"]["impressions"])
        if len(page) < 100:
            return offers
        offset += 100


def create_database(backend):
    if backend == "sqlite":
        tmp = tempfile.mkdtemp(prefix="offers-kill-")
        return f"sqlite://{tmp}/offers.db", lambda: None
    name = f"offers_kill_{random.getrandbits(40):x}"
    subprocess.run(["psql", PG_ADMIN, "-qc", f"CREATE DATABASE {name}"], check=True)
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    return url, lambda: subprocess.run(["psql", PG_ADMIN, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=False)


def run_backend(args, backend):
    url, drop = create_database(backend)
    server = Server(args.bin, url, free_port())
    totals = {"offers": 0, "events": 0, "lost_offers": 0, "lost_events": 0, "recovery_ms": []}
    try:
        created = subprocess.run([args.bin, "project", "create", "--name", "Kill", "--database-url", url],
                                 check=True, capture_output=True, text=True)
        creds = json.loads(created.stdout)
        ledger = Ledger()
        for round_no in range(1, args.rounds + 1):
            server.start()
            stop = threading.Event()
            threads = [threading.Thread(target=writer, args=(server, creds, ledger, stop, round_no, w * 1000 + round_no))
                       for w in range(args.writers)]
            for t in threads:
                t.start()
            # Kill somewhere in the middle of the load, while writes are in flight.
            time.sleep(args.seconds * random.uniform(0.4, 0.7))
            server.kill()
            killed = time.monotonic()
            restarted = server.start()
            recovery = (restarted - killed) * 1000
            time.sleep(args.seconds * 0.3)  # writes continue after the restart
            stop.set()
            for t in threads:
                t.join()
            if args.simulate_loss and ledger.offers:
                # Checks the checker: remove one acknowledged offer, which must be reported.
                victim = next(iter(ledger.offers))
                headers = {"x-api-key": creds["apiKey"], "Authorization": f"Bearer {creds['token']}"}
                assert request("DELETE", f"{server.base}/external/offer/{victim}", headers=headers)[0] == 200
            found = stored(server, creds)
            lost_offers = [oid for oid, title in ledger.offers.items() if found.get(oid, (None,))[0] != title]
            lost_events = {oid: n - found.get(oid, (None, 0))[1] for oid, n in ledger.events.items()
                           if found.get(oid, (None, 0))[1] < n}
            print(f"{backend} round {round_no}: acknowledged {len(ledger.offers)} offers, "
                  f"{sum(ledger.events.values())} events so far; {ledger.failures} requests failed while down; "
                  f"restart healthy in {recovery:.0f} ms; missing: {len(lost_offers)} offers, "
                  f"{sum(lost_events.values())} events", flush=True)
            totals["recovery_ms"].append(recovery)
            totals["lost_offers"] = max(totals["lost_offers"], len(lost_offers))
            totals["lost_events"] = max(totals["lost_events"], sum(lost_events.values()))
            server.stop()
        totals["offers"] = len(ledger.offers)
        totals["events"] = sum(ledger.events.values())
        totals["attempts"] = ledger.attempts
    finally:
        server.stop()
        drop()
    return totals


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--writers", type=int, default=4)
    p.add_argument("--simulate-loss", action="store_true",
                   help="delete one acknowledged offer before checking (the run must then fail)")
    p.add_argument("--bin", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "debug", "offers-api"))
    args = p.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    failed = False
    for backend in backends:
        t = run_backend(args, backend)
        ok = t["lost_offers"] == 0 and t["lost_events"] == 0
        failed |= not ok
        print(f"{backend}: {args.rounds} kill -9 rounds, {t['attempts']} write attempts, "
              f"{t['offers']} offers and {t['events']} events acknowledged, "
              f"missing after restart: {t['lost_offers']} offers, {t['lost_events']} events; "
              f"restart to healthy: max {max(t['recovery_ms']):.0f} ms -> {'OK' if ok else 'LOST WRITES'}",
              flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
