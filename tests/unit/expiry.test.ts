// One lifetime range for `--ttl`, prod-mirror:ttlHours and prod-mirror:expiresAt: each is checked
// against TTL_MIN_HOURS..TTL_MAX_HOURS, at both edges, and each error states the range the same way.
import * as assert from "assert";
import { parseTtl } from "../../cli/args";
import { ConfigError } from "../../components/config-error";
import { parseSettings, type RawSettings } from "../../components/settings";
import { DEFAULT_TTL_HOURS, expiryProblem, TTL_MAX_HOURS, TTL_MIN_HOURS, TTL_RANGE } from "../../components/expiry";
import { EMULATOR_IMAGE } from "./fixtures";

const NOW = new Date("2026-11-26T10:00:00Z");
const BASE: RawSettings = { registryUsername: "ci-bot", emulatorImage: EMULATOR_IMAGE, app: JSON.stringify({ services: [{ name: "api", port: 8080, image: "r/api" }] }) };
const RANGE = "a mirror lives 1 to 720 hours (30 days)";

function settings(raw: RawSettings) {
    return parseSettings({ ...BASE, ...raw }, { stack: "dev", readFile: () => "", now: NOW });
}

function configError(raw: RawSettings): string {
    try {
        settings(raw);
    } catch (err) {
        assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
        return err.message;
    }
    return assert.fail(`${JSON.stringify(raw)} parsed without an error`);
}

describe("one lifetime range for --ttl, ttlHours and expiresAt", () => {
    it("is 1 to 720 hours, 72 by default, stated in one sentence", () => {
        assert.deepStrictEqual([TTL_MIN_HOURS, TTL_MAX_HOURS, DEFAULT_TTL_HOURS, TTL_RANGE], [1, 720, 72, RANGE]);
        assert.strictEqual(settings({}).ttlHours, 72);
    });

    it("--ttl: takes both edges, refuses just outside them", () => {
        assert.deepStrictEqual([parseTtl("60m"), parseTtl("30d"), parseTtl("720h")], [1, 720, 720]);
        assert.throws(() => parseTtl("59m"), { message: /^--ttl 59m is out of range: a mirror lives 1 to 720 hours \(30 days\), e\.g\. --ttl 72h\n/ });
        assert.throws(() => parseTtl("721h"), { message: /^--ttl 721h is out of range: a mirror lives 1 to 720 hours \(30 days\), e\.g\. --ttl 72h\n/ });
        assert.throws(() => parseTtl("31d"), { message: /^--ttl 31d is out of range: / });
    });

    it("ttlHours: takes both edges, refuses just outside them", () => {
        assert.deepStrictEqual([settings({ ttlHours: "1" }).ttlHours, settings({ ttlHours: "720" }).ttlHours], [1, 720]);
        for (const bad of ["0", "721", "1.5"]) {
            assert.strictEqual(
                configError({ ttlHours: bad }),
                `prod-mirror:ttlHours in Pulumi.dev.yaml is invalid: expected a whole number of hours; ${RANGE}, got "${bad}". Example: prod-mirror:ttlHours: "72"`,
            );
        }
    });

    it("expiresAt: takes a time up to 720 hours ahead, refuses a past one and a further one", () => {
        assert.strictEqual(settings({ expiresAt: "2026-12-26T10:00:00Z" }).expiresAt, "2026-12-26T10:00:00.000Z");
        assert.strictEqual(settings({ expiresAt: "2026-11-26T10:01:00Z" }).expiresAt, "2026-11-26T10:01:00.000Z");
        assert.strictEqual(
            configError({ expiresAt: "2026-12-26T10:00:01Z" }),
            `prod-mirror:expiresAt in Pulumi.dev.yaml is invalid: expected a time from now to 720 hours ahead; ${RANGE}, and this expiry is 720 hours away ` +
                '(or remove the key to use ttlHours), got "2026-12-26T10:00:01Z". Example: prod-mirror:expiresAt: 2026-11-29T10:00:00Z',
        );
        assert.strictEqual(
            configError({ expiresAt: "2026-11-26T09:59:59Z" }),
            `prod-mirror:expiresAt in Pulumi.dev.yaml is invalid: expected a time from now to 720 hours ahead; ${RANGE}, and this expiry has passed ` +
                '(or remove the key to use ttlHours), got "2026-11-26T09:59:59Z". Example: prod-mirror:expiresAt: 2026-11-29T10:00:00Z',
        );
        assert.match(configError({ expiresAt: "2036-01-01T00:00:00Z" }), /and this expiry is 79742 hours away/);
    });

    it("expiresAt: an expiry of exactly now has passed, one a millisecond later has not", () => {
        assert.strictEqual(expiryProblem(NOW, NOW), `${RANGE}, and this expiry has passed`);
        assert.strictEqual(expiryProblem(new Date(NOW.getTime() + 1), NOW), undefined);
        assert.strictEqual(expiryProblem(new Date("2026-12-26T10:00:00Z"), NOW), undefined);
    });
});
