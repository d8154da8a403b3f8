import * as assert from "assert";
import { profileRows, profileTable } from "../../bench/timeline";

describe("bench: profile timeline", () => {
    const spans = [
        { urn: "urn:pulumi:s::p::kubernetes:apps/v1:Deployment::gateway", type: "kubernetes:apps/v1:Deployment", op: "create", start: 3200, end: 14100 },
        { urn: "urn:pulumi:s::p::kubernetes:core/v1:Namespace::ns", type: "kubernetes:core/v1:Namespace", op: "create", start: 2100, end: 2600 },
        { urn: "urn:pulumi:s::p::kubernetes:core/v1:Service::api", type: "kubernetes:core/v1:Service", op: "create", start: 3200 },
    ];

    it("orders the steps by start, then end, and names them by the URN's last part", () => {
        assert.deepStrictEqual(profileRows(spans).map((r) => r.name), ["ns", "gateway", "api"]);
    });

    it("prints each step and where the time went before, at and after the critical path's end", () => {
        assert.strictEqual(profileTable(profileRows(spans), 15000), [
            " start    end   took  op       type / name",
            "   2.1    2.6    0.5  create   kubernetes:core/v1:Namespace ns",
            "   3.2   14.1   10.9  create   kubernetes:apps/v1:Deployment gateway",
            "   3.2      -      -  create   kubernetes:core/v1:Service api",
            "",
            "before the first step: 2.1 s (language host, program start, provider start)",
            "last to finish: kubernetes:apps/v1:Deployment gateway at 14.1 s",
            "after it: 0.9 s (outputs, state, engine exit)",
            "pulumi up in all: 15.0 s",
            "",
        ].join("\n"));
    });
});
