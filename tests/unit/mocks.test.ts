// The mocks themselves: a test suite whose mocks quietly answer anything proves nothing.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { settle, useMocks, valueOf } from "./mocks";

describe("mocks", () => {
    it("fail loudly on a provider call nobody mocked", async () => {
        const mocks = await useMocks(false);
        const call = pulumi.runtime.invoke("aws:index/getCallerIdentity:getCallerIdentity", {});
        // The SDK drops the message on its way back from the mock monitor; settle() reports it.
        await assert.rejects(call);
        await assert.rejects(settle(mocks), /the mocks saw problems:\n- unmocked call aws:index\/getCallerIdentity/);
    });

    it("fail when two resources share a type and a name", async () => {
        const mocks = await useMocks(false);
        new k8s.core.v1.ConfigMap("same", {}, { parent: new pulumi.ComponentResource("test:x:A", "a") });
        new k8s.core.v1.ConfigMap("same", {}, { parent: new pulumi.ComponentResource("test:x:B", "b") });
        await assert.rejects(settle(mocks), /two resources share type kubernetes:core\/v1:ConfigMap and name same/);
    });

    it("turn an unknown Output into an error instead of a hang", async () => {
        await useMocks(true);
        await assert.rejects(valueOf(pulumi.output(pulumi.unknown)), /the Output's value is unknown/);
    });
});
