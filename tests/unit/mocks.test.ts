// The mocks themselves: a test suite whose mocks quietly answer anything proves nothing.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as aws from "@pulumi/aws";
import { isKnown, settle, useMocks, valueOf } from "./mocks";

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

    it("answer a create in preview as the engine does: autonamed names known, what the provider computes at creation unknown", async () => {
        const mocks = await useMocks(true);
        const map = new k8s.core.v1.ConfigMap("cfg", {});
        const job = new k8s.batch.v1.Job("job", { spec: { template: { spec: { containers: [], restartPolicy: "Never" } } } });
        const queue = new aws.sqs.Queue("q", { name: "pm-q" });
        const user = new aws.iam.User("u", {});
        await settle(mocks);
        assert.strictEqual(await valueOf(map.metadata.name), "cfg-e67d23e7");
        assert.strictEqual(await valueOf(queue.name), "pm-q");
        assert.match(await valueOf(user.name), /^u-[0-9a-f]{7}$/);
        assert.deepStrictEqual(
            await Promise.all([map.id, job.status, queue.url, queue.arn, user.arn].map((o: pulumi.Output<unknown>) => isKnown(o))),
            [false, false, false, false, false],
        );
        assert.deepStrictEqual([mocks.one("aws:sqs/queue:Queue", "q").id, mocks.one("aws:sqs/queue:Queue", "q").state], ["", { name: "pm-q" }]);
    });

    it("answer the same create in update with every output the program reads, and record it per registration", async () => {
        const mocks = await useMocks(false);
        const map = new k8s.core.v1.ConfigMap("cfg", {});
        const job = new k8s.batch.v1.Job("job", { spec: { template: { spec: { containers: [], restartPolicy: "Never" } } } });
        const queue = new aws.sqs.Queue("q", { name: "pm-q" });
        await settle(mocks);
        assert.deepStrictEqual(
            [await valueOf(map.id), await valueOf(job.status), await valueOf(queue.url), await valueOf(queue.arn)],
            ["cfg-id", { succeeded: 1 }, "https://sqs.us-east-1.amazonaws.com/000000000000/pm-q", "arn:aws:sqs:us-east-1:000000000000:pm-q"],
        );
        assert.strictEqual(mocks.kubernetesName("kubernetes:core/v1:ConfigMap", "cfg"), "cfg-e67d23e7");
        assert.strictEqual(mocks.one("aws:sqs/queue:Queue", "q").state.url, "https://sqs.us-east-1.amazonaws.com/000000000000/pm-q");
    });
});
