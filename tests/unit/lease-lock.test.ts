import * as assert from "assert";
import { acquireLease, expired, expiryMs, parseLeaseRecord, watchNext, type LeaseRecord, type LeaseStore } from "../../cli/lease-lock";
import { DEFAULT_LEASE_SECONDS, leaseKey, leaseMsFrom, lockPlaceFor } from "../../cli/lock-for-backend";
import { LockTimeoutError } from "../../cli/run-lock";
import { bucketLockIsDead } from "../../cli/s3-lease-store";

/** S3's conditional semantics in memory: every write gives a new ETag; a condition that fails changes nothing. */
class FakeStore implements LeaseStore {
    objects = new Map<string, { body: string; etag: string }>();
    private next = 0;
    /** When set, replace throws it (a network that is down) instead of answering. */
    failReplace: Error | undefined;
    replaces = 0;
    private put(key: string, body: string): string {
        const etag = `"e${++this.next}"`;
        this.objects.set(key, { body, etag });
        return etag;
    }
    read(key: string): Promise<{ body: string; etag: string } | undefined> {
        const o = this.objects.get(key);
        return Promise.resolve(o === undefined ? undefined : { ...o });
    }
    create(key: string, body: string): Promise<string | undefined> {
        return Promise.resolve(this.objects.has(key) ? undefined : this.put(key, body));
    }
    replace(key: string, body: string, etag: string): Promise<string | undefined> {
        this.replaces++;
        if (this.failReplace !== undefined) {
            return Promise.reject(this.failReplace);
        }
        return Promise.resolve(this.objects.get(key)?.etag === etag ? this.put(key, body) : undefined);
    }
    remove(key: string, etag: string): Promise<boolean> {
        if (this.objects.get(key)?.etag !== etag) {
            return Promise.resolve(false);
        }
        this.objects.delete(key);
        return Promise.resolve(true);
    }
}

const KEY = "mirrors/.prod-mirror/locks/prod-mirror/pm-x.json";
const WHERE = `s3://state/${KEY}`;
const me = (pid: number) => ({ pid, hostname: `host-${pid}`, command: `cmd-${pid}` });
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A record as a holder on another machine, whose wall clock is far off, would have written it. */
const deadRecord: LeaseRecord = { pid: 4242, hostname: "ci-runner-7", command: "up", since: "1999-01-01T00:00:00.000Z", leaseSeconds: 0.3, renewals: 12 };

describe("lease lock: the pure decisions", () => {
    it("restarts the watch whenever the ETag changes, and keeps it (and its start) while it stays", () => {
        const first = watchNext(undefined, '"a"', 100);
        assert.deepStrictEqual(first, { etag: '"a"', since: 100 });
        assert.strictEqual(watchNext(first, '"a"', 900), first);
        assert.deepStrictEqual(watchNext(first, '"b"', 900), { etag: '"b"', since: 900 });
    });

    it("calls a lease expired only strictly after the expiry has passed on the waiter's own clock", () => {
        const watch = { etag: '"a"', since: 1000 };
        assert.strictEqual(expired(watch, 1000 + 60_000, 60_000), false);
        assert.strictEqual(expired(watch, 1000 + 60_001, 60_000), true);
    });

    it("waits for the longer of the holder's lease and its own; a garbled record gets a full lease of ours", () => {
        assert.strictEqual(expiryMs({ ...deadRecord, leaseSeconds: 120 }, 60_000), 120_000);
        assert.strictEqual(expiryMs({ ...deadRecord, leaseSeconds: 5 }, 60_000), 60_000);
        assert.strictEqual(expiryMs(undefined, 60_000), 60_000);
        assert.strictEqual(parseLeaseRecord("{\"pid\":1,"), undefined);
        assert.strictEqual(parseLeaseRecord(JSON.stringify({ pid: 1, hostname: "h", command: "up", since: "x" })), undefined, "a record without leaseSeconds was taken");
        assert.deepStrictEqual(parseLeaseRecord(JSON.stringify({ pid: 1, hostname: "h", command: "up", since: "x", leaseSeconds: 3 })), { pid: 1, hostname: "h", command: "up", since: "x", leaseSeconds: 3, renewals: 0 });
    });

    it("puts the lock where the state is: the local default's dir, an external file backend's dir, the bucket, or nowhere for Pulumi Cloud", () => {
        assert.deepStrictEqual(lockPlaceFor(undefined, "/m"), { kind: "flock", dir: "/m/locks" });
        assert.deepStrictEqual(lockPlaceFor("file:///m/pulumi-backend", "/m"), { kind: "flock", dir: "/m/locks" });
        assert.deepStrictEqual(lockPlaceFor("file:///shared/state", "/m"), { kind: "flock", dir: "/shared/state/.prod-mirror/locks" });
        assert.deepStrictEqual(lockPlaceFor("s3://state/mirrors?endpoint=127.0.0.1:4566&disableSSL=true&s3ForcePathStyle=true&region=us-east-1", "/m", { PROD_MIRROR_LEASE_SECONDS: "2.5" }), {
            kind: "lease", bucket: "state", prefix: "mirrors/", endpoint: "http://127.0.0.1:4566", region: "us-east-1", forcePathStyle: true, leaseMs: 2500,
        });
        assert.deepStrictEqual(lockPlaceFor("https://api.pulumi.com", "/m"), { kind: "none", why: "Pulumi Cloud serialises updates itself; its update lock is waited on" });
        assert.strictEqual(leaseKey("mirrors/", "pm-x"), KEY);
        assert.strictEqual(leaseKey("", "pm-x"), ".prod-mirror/locks/prod-mirror/pm-x.json");
        assert.throws(() => leaseKey("", "../x"), /stack name "\.\.\/x"/);
    });

    it("reads the lease length from PROD_MIRROR_LEASE_SECONDS, and refuses a bad one naming it and the fix", () => {
        assert.strictEqual(leaseMsFrom({}), DEFAULT_LEASE_SECONDS * 1000);
        assert.strictEqual(DEFAULT_LEASE_SECONDS, 60);
        assert.strictEqual(leaseMsFrom({ PROD_MIRROR_LEASE_SECONDS: "3" }), 3000);
        for (const bad of ["0", "-5", "1m", "abc", "Infinity"]) {
            assert.throws(() => leaseMsFrom({ PROD_MIRROR_LEASE_SECONDS: bad }), {
                message: `PROD_MIRROR_LEASE_SECONDS ${JSON.stringify(bad)} is not a lease length: give a number of seconds above 0, e.g. PROD_MIRROR_LEASE_SECONDS=60`,
            });
        }
    });

    it("breaks a Pulumi lock in the bucket only when it is the dead holder's: its host, taken after its since; on our own host only with its pid gone", () => {
        const here = { hostname: "here", bootId: "boot-1", pidNamespace: "pid:[1]" };
        const dead = { pid: 10, hostname: "ci-runner-7", command: "up", since: "2026-11-26T10:00:00.000Z" };
        const lock = { file: "s3://b/k", pid: 77, username: "ci", hostname: "ci-runner-7", timestamp: "2026-11-26T10:00:05Z" };
        assert.strictEqual(bucketLockIsDead(lock, dead, here), true);
        assert.strictEqual(bucketLockIsDead(lock, undefined, here), false, "no dead holder: nothing is proof");
        assert.strictEqual(bucketLockIsDead({ ...lock, hostname: "ci-runner-8" }, dead, here), false, "another host's lock");
        assert.strictEqual(bucketLockIsDead({ ...lock, timestamp: "2026-11-26T09:59:59Z" }, dead, here), false, "a lock older than the holder");
        assert.strictEqual(bucketLockIsDead({ ...lock, timestamp: "garbage" }, dead, here), false, "an unreadable time");
        const ours = { ...dead, hostname: "here", bootId: "boot-1", pidNamespace: "pid:[1]" };
        assert.strictEqual(bucketLockIsDead({ ...lock, hostname: "here", pid: process.pid }, ours, here), false, "a live pulumi on our host lost its lock");
    });
});

describe("lease lock on a store with S3's conditional writes", () => {
    it("gives the lease to the first, makes the second fail at once with timeout 0 naming the holder, and frees it on release", async () => {
        const store = new FakeStore();
        const a = await acquireLease({ store, key: KEY, where: WHERE, stackName: "pm-x", command: "up", timeoutMs: 0, leaseMs: 60_000, log: () => undefined, me: me(1) });
        const held = parseLeaseRecord(store.objects.get(KEY)!.body)!;
        assert.deepStrictEqual({ ...held, since: "" }, { pid: 1, hostname: "host-1", command: "cmd-1", since: "", leaseSeconds: 60, renewals: 0 });
        await assert.rejects(acquireLease({ store, key: KEY, where: WHERE, stackName: "pm-x", command: "down", timeoutMs: 0, leaseMs: 60_000, log: () => undefined, me: me(2) }), (err: Error) => {
            assert.ok(err instanceof LockTimeoutError);
            assert.strictEqual(err.message, `stack pm-x is busy: pid 1 on host host-1 (cmd-1, since ${held.since}) holds ${WHERE}. Wait for it, raise --lock-timeout ` +
                "(e.g. --lock-timeout 60m), or stop that run: a holder that died is taken over once its lease (60s) runs out unrenewed (deleting the object while its holder lives would let two runs in).");
            return true;
        });
        await a.release();
        assert.strictEqual(store.objects.size, 0);
        await a.release();
        const b = await acquireLease({ store, key: KEY, where: WHERE, stackName: "pm-x", command: "down", timeoutMs: 0, leaseMs: 60_000, log: () => undefined, me: me(2) });
        assert.strictEqual(b.previousHolderDied, undefined, "a clean release was taken for a death");
        await a.release();
        assert.strictEqual(store.objects.size, 1, "a second release of an old lock deleted the next holder's");
        await b.release();
    });

    it("takes over a dead holder's lease only after watching its ETag unchanged for a full lease of its own clock, whatever the holder's wall clock said", async () => {
        const store = new FakeStore();
        await store.create(KEY, JSON.stringify(deadRecord));
        const lines: string[] = [];
        let t = 0;
        const started = Date.now();
        const lock = await acquireLease({ store, key: KEY, where: WHERE, stackName: "pm-x", command: "up", timeoutMs: 5000, leaseMs: 300, log: (l) => lines.push(l), me: me(2), clock: () => (t = performance.now()) });
        const waited = Date.now() - started;
        assert.ok(waited >= 300, `taken over after ${waited} ms, before one lease (300 ms) of unchanged ETag`);
        assert.ok(waited < 1500, `took ${waited} ms to take over an expired lease`);
        assert.ok(t > 0);
        assert.deepStrictEqual(lock.previousHolderDied, deadRecord);
        assert.deepStrictEqual(lines, [
            "stack pm-x is busy with pid 4242 on host ci-runner-7 (up, since 1999-01-01T00:00:00.000Z); waiting up to 0 min",
            "run lock of pm-x was held by pid 4242 on host ci-runner-7 (up, since 1999-01-01T00:00:00.000Z), whose lease (0.3s) ran out unrenewed: it is gone; taking it over",
        ]);
        assert.strictEqual(parseLeaseRecord(store.objects.get(KEY)!.body)?.pid, 2);
        await lock.release();
    });

    it("never takes over a live holder that renews, over many leases: the waiter times out instead", async () => {
        const store = new FakeStore();
        const holder = await acquireLease({ store, key: KEY, where: WHERE, stackName: "pm-x", command: "up", timeoutMs: 0, leaseMs: 300, log: () => undefined, me: me(1) });
        const lines: string[] = [];
        const started = Date.now();
        await assert.rejects(acquireLease({ store, key: KEY, where: WHERE, stackName: "pm-x", command: "down", timeoutMs: 1500, leaseMs: 300, log: (l) => lines.push(l), me: me(2) }), LockTimeoutError);
        assert.ok(Date.now() - started >= 1500);
        const record = parseLeaseRecord(store.objects.get(KEY)!.body)!;
        assert.strictEqual(record.pid, 1, "the waiter took the lease of a live holder");
        assert.ok(record.renewals >= 10, `only ${record.renewals} renewals in 1.5 s (5 leases) of a 300 ms lease`);
        assert.strictEqual(holder.lost.aborted, false);
        assert.strictEqual(lines.filter((l) => l.includes("taking it over")).length, 0);
        await holder.release();
    });

    it("lets exactly one of three waiters take over a dead holder's lease: the conditional put decides", async () => {
        const store = new FakeStore();
        await store.create(KEY, JSON.stringify(deadRecord));
        const waiters = [2, 3, 4].map((pid) =>
            acquireLease({ store, key: KEY, where: WHERE, stackName: "pm-x", command: `w${pid}`, timeoutMs: 1500, leaseMs: 300, log: () => undefined, me: me(pid) }),
        );
        const results = await Promise.allSettled(waiters);
        const won = results.filter((r) => r.status === "fulfilled");
        assert.strictEqual(won.length, 1, `${won.length} waiters hold the lease`);
        for (const r of results.filter((r) => r.status === "rejected")) {
            assert.ok(r.reason instanceof LockTimeoutError, String(r.reason));
        }
        const winner = (won[0] as PromiseFulfilledResult<Awaited<(typeof waiters)[0]>>).value;
        assert.deepStrictEqual(winner.previousHolderDied, deadRecord);
        await winner.release();
    });

    it("decides a takeover race by the ETag: of two waiters that saw the same stale ETag, the second put is refused", async () => {
        const store = new FakeStore();
        const stale = (await store.create(KEY, JSON.stringify(deadRecord)))!;
        assert.ok((await store.replace(KEY, "first", stale)) !== undefined);
        assert.strictEqual(await store.replace(KEY, "second", stale), undefined);
        assert.strictEqual(store.objects.get(KEY)!.body, "first");
    });

    it("aborts `lost` and says so when its renewal is refused (another run took the lease), and never deletes the new holder's object", async () => {
        const store = new FakeStore();
        const lines: string[] = [];
        const lock = await acquireLease({ store, key: KEY, where: WHERE, stackName: "pm-x", command: "up", timeoutMs: 0, leaseMs: 300, log: (l) => lines.push(l), me: me(1) });
        const theirs = store.objects.get(KEY)!;
        await store.replace(KEY, JSON.stringify({ ...deadRecord, pid: 9 }), theirs.etag);
        await sleep(180);
        assert.strictEqual(lock.lost.aborted, true);
        assert.deepStrictEqual(lines, [
            `lost the run lock of pm-x (${WHERE}): its renewal was refused: another run took the lease over, or the lock object was removed; another run may be changing the stack, so this run stops`,
        ]);
        await lock.release();
        assert.strictEqual(parseLeaseRecord(store.objects.get(KEY)!.body)?.pid, 9, "the loser deleted the winner's lease");
    });

    it("aborts `lost` once no renewal succeeded for two thirds of a lease (a third before a waiter may take over), not at the first failure", async () => {
        const store = new FakeStore();
        const lines: string[] = [];
        const lock = await acquireLease({ store, key: KEY, where: WHERE, stackName: "pm-x", command: "up", timeoutMs: 0, leaseMs: 600, log: (l) => lines.push(l), me: me(1) });
        store.failReplace = new Error("connect ECONNREFUSED 127.0.0.1:4566");
        await sleep(300);
        assert.ok(store.replaces >= 1, "no renewal was tried");
        assert.strictEqual(lock.lost.aborted, false, "one failed renewal was taken for a lost lease");
        await sleep(250);
        assert.strictEqual(lock.lost.aborted, true);
        assert.deepStrictEqual(lines, [
            `lost the run lock of pm-x (${WHERE}): no renewal succeeded for 0.4s of its 0.6s lease (connect ECONNREFUSED 127.0.0.1:4566); another run may be changing the stack, so this run stops`,
        ]);
        await lock.release();
    });

    it("aborts `lost` when a renewal hangs, without waiting for it to come back", async () => {
        const store = new FakeStore();
        const lines: string[] = [];
        const lock = await acquireLease({ store, key: KEY, where: WHERE, stackName: "pm-x", command: "up", timeoutMs: 0, leaseMs: 300, log: (l) => lines.push(l), me: me(1) });
        store.replace = () => new Promise<string | undefined>(() => undefined);
        await sleep(350);
        assert.strictEqual(lock.lost.aborted, true);
        assert.deepStrictEqual(lines, [
            `lost the run lock of pm-x (${WHERE}): no renewal succeeded for 0.2s of its 0.3s lease (the renewal did not answer); another run may be changing the stack, so this run stops`,
        ]);
        await lock.release();
    });

    it("deletes the lease with the ETag of a renewal that was in flight when it was released", async () => {
        const store = new FakeStore();
        const lock = await acquireLease({ store, key: KEY, where: WHERE, stackName: "pm-x", command: "up", timeoutMs: 0, leaseMs: 300, log: () => undefined, me: me(1) });
        const replace = store.replace.bind(store);
        let renewing: () => void = () => undefined;
        store.replace = (k, b, e) => new Promise((resolve) => (renewing = () => resolve(replace(k, b, e))));
        await sleep(150);
        const released = lock.release();
        renewing();
        await released;
        assert.strictEqual(store.objects.size, 0, "the lease outlived its release: deleted with the ETag from before the renewal");
    });
});
