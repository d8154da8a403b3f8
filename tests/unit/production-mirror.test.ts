import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { appProblem, builtImageName, type KubeObject, legacyAliases, cloudNames, externalEgressPorts, imageTag, KEYS, namespaceName, ProductionMirror, ProductionMirrorArgs, RUN_AS, serviceUrl } from "../../components";
import { CONTEXT, PASSWORD, sampleApp } from "./fixtures";
import { inBothModes, isKnown, isSecretValue, isUnknownValue, kubernetesLabelSets, once, RecordingMocks, registeredUrns, settle, useMocks, valueOf } from "./mocks";

const NS = namespaceName(CONTEXT.branch, "pm");
const NAMES = cloudNames(sampleApp().cloud, "pm", CONTEXT.branch);
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
/** What the engine calls a production object the mirror applies: `<namespace>/<name>`, under the ConfigGroup. */
const app = (name: string): string => `${NS}/${name}`;

function args(overrides: Partial<ProductionMirrorArgs> = {}): ProductionMirrorArgs {
    return {
        context: CONTEXT,
        stack: "dev",
        installation: "team-a",
        app: sampleApp(),
        overrides: { gateway: { replicas: 1, resources: { limits: { cpu: "250m", memory: "128Mi" } } } },
        registry: { server: "127.0.0.1:5000", username: "ci-bot", password: pulumi.secret(PASSWORD) },
        cloud: { mode: "emulated", region: "us-east-1", image: "127.0.0.1:5000/prod-mirror/moto:5.2.5" },
        ...overrides,
    };
}

/** env of a Deployment's first container as name -> value (or `secret:<key>` for secretKeyRefs). */
function envOf(mocks: RecordingMocks, deployment: string): Record<string, string> {
    const [container] = mocks.one(DEPLOYMENT, deployment).inputs.spec.template.spec.containers;
    return Object.fromEntries(container.env.map((e: any) => [e.name, e.value ?? `secret:${e.valueFrom.secretKeyRef.key}`]));
}

/** Where a Kubernetes object or pod template lacks `<key>: <value>` (default key: the stack label). */
function missingStackLabel(mocks: RecordingMocks, value: string, key: string = KEYS.stack): string[] {
    return kubernetesLabelSets(mocks)
        .filter(({ labels }) => labels?.[key] !== value)
        .map(({ where, labels }) => `${where}: ${JSON.stringify(labels?.[key])}`);
}

/** Every path in `value` where a string contains `needle` outside a secret marker. */
function plaintextPaths(value: any, needle: string, path = ""): string[] {
    if (isSecretValue(value)) {
        return [];
    }
    if (typeof value === "string") {
        return value.includes(needle) ? [path] : [];
    }
    if (typeof value === "object" && value !== null) {
        return Object.entries(value).flatMap(([k, v]) => plaintextPaths(v, needle, `${path}.${k}`));
    }
    return [];
}

/** The URNs each workload Deployment of the mirror depends on (seen by a transformation), by resource name. */
async function workloadDependencies(mocks: Awaited<ReturnType<typeof useMocks>>, mirrorArgs: ProductionMirrorArgs): Promise<Record<string, string[]>> {
    const dependsOn: Record<string, pulumi.Input<pulumi.Resource>[]> = {};
    const record = (a: pulumi.ResourceTransformationArgs): undefined => {
        if (a.type === DEPLOYMENT && a.name.startsWith(`${NS}/`)) {
            dependsOn[a.name] = (a.opts.dependsOn ?? []) as pulumi.Input<pulumi.Resource>[];
        }
        return undefined;
    };
    new ProductionMirror("mirror", mirrorArgs, { transformations: [record] });
    await settle(mocks);
    return Object.fromEntries(
        await Promise.all(Object.entries(dependsOn).map(async ([name, deps]) => [name, await Promise.all(deps.map(async (d) => valueOf((await valueOf(pulumi.output(d))).urn)))])),
    );
}

describe("ProductionMirror", () => {
    inBothModes((preview) => {
        const emulated = once(async () => {
            const mocks = await useMocks(preview);
            const mirror = new ProductionMirror("mirror", args());
            await settle(mocks);
            return { mocks, mirror, urns: registeredUrns() };
        });

        it("parents every child under a prod-mirror component and names it after its parent", async () => {
            const { mocks, urns } = await emulated();
            assert.strictEqual(urns.length, mocks.registrations.length);
            for (const urn of urns) {
                const [, , qualifiedType, name] = urn.split("::");
                if (name === "mirror") {
                    assert.strictEqual(qualifiedType, "prod-mirror:mirror:ProductionMirror");
                    continue;
                }
                if (qualifiedType.startsWith("kubernetes:yaml:ConfigGroup$")) {
                    assert.ok(name.startsWith(`${NS}/`), `${urn}: production's objects are named by namespace and name`);
                    continue;
                }
                assert.match(qualifiedType, /^prod-mirror:[a-z0-9]+:[A-Za-z]+\$/, `${urn} has no prod-mirror parent`);
                assert.ok(name.startsWith("mirror-"), `${name} is not named after its parent`);
            }
            const parentOf = (type: string, name: string) => urns.find((u) => u.endsWith(`$${type}::${name}`))?.split("::")[2].split("$")[0];
            assert.strictEqual(parentOf("kubernetes:core/v1:Namespace", "mirror-ns-namespace"), "prod-mirror:k8s:BranchNamespace");
            assert.strictEqual(parentOf(DEPLOYMENT, app("api")), "kubernetes:yaml:ConfigGroup");
            assert.strictEqual(parentOf("kubernetes:yaml:ConfigGroup", "mirror-app"), "prod-mirror:mirror:ProductionMirror");
            assert.strictEqual(parentOf("kubernetes:core/v1:ConfigMap", "mirror-cloud-create-script"), "prod-mirror:cloud:EmulatedCloudResources");
            assert.strictEqual(parentOf("docker:index/image:Image", "mirror-worker-image"), "prod-mirror:image:AppImage");
        });

        it("declares the namespace, pull secret, emulator (no creation Job) and one Deployment + Service per service", async () => {
            const { mocks } = await emulated();
            assert.deepStrictEqual(mocks.ofType("kubernetes:core/v1:Namespace").map((r) => r.inputs.metadata.name), [NS]);
            assert.deepStrictEqual(mocks.ofType(DEPLOYMENT).map((r) => r.inputs.metadata.name).sort(), ["api", "aws-emulator", "gateway", "worker"]);
            assert.deepStrictEqual(mocks.ofType("kubernetes:core/v1:Service").map((r) => r.inputs.metadata.name).sort(), ["api", "aws-emulator", "gateway", "worker"]);
            assert.deepStrictEqual(mocks.ofType("kubernetes:batch/v1:Job"), []);
            assert.strictEqual(mocks.ofType("kubernetes:core/v1:ServiceAccount").length, 1);
            for (const r of mocks.registrations.filter((x) => x.custom && x.type.startsWith("kubernetes:") && x.type !== "kubernetes:core/v1:Namespace")) {
                assert.strictEqual(r.inputs.metadata.namespace, NS, `${r.type} ${r.name}`);
            }
        });

        it("runs every pod restricted, as the registry-bound ServiceAccount", async () => {
            const { mocks } = await emulated();
            const account = mocks.one("kubernetes:core/v1:ServiceAccount", "mirror-registry-workloads").inputs;
            const pods = mocks.ofType(DEPLOYMENT).map((r) => ({ r, pod: r.inputs.spec.template.spec }));
            assert.strictEqual(pods.length, 4);
            for (const { r, pod } of pods) {
                assert.match(pod.serviceAccountName, /^mirror-registry-workloads-/, r.name);
                assert.deepStrictEqual(pod.imagePullSecrets, account.imagePullSecrets, r.name);
                assert.deepStrictEqual([pod.securityContext.runAsNonRoot, pod.securityContext.runAsUser, pod.securityContext.seccompProfile], [true, RUN_AS, { type: "RuntimeDefault" }], r.name);
                for (const c of pod.containers) {
                    assert.deepStrictEqual([c.securityContext.allowPrivilegeEscalation, c.securityContext.capabilities], [false, { drop: ["ALL"] }], `${r.name}/${c.name}`);
                }
            }
        });

        it("points every cross-reference at the name the engine registered for its target", async () => {
            const { mocks } = await emulated();
            const SECRET = "kubernetes:core/v1:Secret";
            const SERVICE = "kubernetes:core/v1:Service";
            const namespace = mocks.kubernetesName("kubernetes:core/v1:Namespace", "mirror-ns-namespace");
            const pullSecret = mocks.kubernetesName(SECRET, "mirror-registry-pull");
            const account = mocks.kubernetesName("kubernetes:core/v1:ServiceAccount", "mirror-registry-workloads");
            const credentials = mocks.one(SECRET, "mirror-cloud-credentials");
            assert.deepStrictEqual(mocks.one(SECRET, "mirror-registry-pull").inputs.type, "kubernetes.io/dockerconfigjson");
            assert.deepStrictEqual(mocks.one("kubernetes:core/v1:ServiceAccount", "mirror-registry-workloads").inputs.imagePullSecrets, [{ name: pullSecret }]);
            const emulator = mocks.one(SERVICE, "mirror-cloud-emulator").state;
            const endpoint = `http://${emulator.metadata.name}.${namespace}.svc.cluster.local:${emulator.spec.ports[0].port}`;
            const pods = mocks.ofType(DEPLOYMENT);
            assert.deepStrictEqual(pods.map((r) => r.name).sort(), ["mirror-cloud-emulator", app("api"), app("gateway"), app("worker")]);
            for (const r of pods) {
                const pod = r.inputs.spec.template.spec;
                assert.deepStrictEqual([pod.serviceAccountName, pod.imagePullSecrets], [account, [{ name: pullSecret }]], r.name);
                for (const e of pod.containers.flatMap((c: any) => c.env)) {
                    const ref = e.valueFrom?.secretKeyRef;
                    if (ref !== undefined) {
                        assert.strictEqual(ref.name, credentials.state.metadata.name, `${r.name} ${e.name}`);
                        assert.ok(ref.key in credentials.inputs.stringData, `${r.name} ${e.name} reads key ${ref.key}, which the Secret lacks`);
                    }
                    if (e.name === "AWS_ENDPOINT_URL") {
                        assert.strictEqual(e.value, endpoint, `${r.name} ${e.name}`);
                    }
                }
            }
            // Each Service selects exactly its own Deployment's pods, and the Deployment owns them.
            const deployments = mocks.ofType(DEPLOYMENT);
            for (const service of mocks.ofType(SERVICE)) {
                const selector = Object.entries(service.inputs.spec.selector);
                const selected = deployments.filter((d) => selector.every(([k, v]) => d.inputs.spec.template.metadata.labels[k] === v)).map((d) => d.state.metadata.name);
                assert.deepStrictEqual(selected, [service.state.metadata.name], service.name);
            }
            for (const d of deployments) {
                const labels = d.inputs.spec.template.metadata.labels;
                assert.ok(Object.entries(d.inputs.spec.selector.matchLabels).every(([k, v]) => labels[k] === v), d.name);
                // The container listens where its Service sends traffic.
                const service = mocks.one(SERVICE, d.name);
                assert.deepStrictEqual(d.inputs.spec.template.spec.containers[0].ports.map((p: any) => p.containerPort), [service.inputs.spec.ports[0].targetPort], d.name);
            }
            // A service's URL variable names the Service the engine registered, at its port, as production does.
            const api = mocks.one(SERVICE, app("api")).state;
            assert.strictEqual(envOf(mocks, app("gateway")).API_URL, `http://${api.metadata.name}:${api.spec.ports[0].port}`);
        });

        it("labels every Kubernetes object and pod template with the stack, and leaves it out of the immutable selectors", async () => {
            const { mocks } = await emulated();
            assert.ok(kubernetesLabelSets(mocks).length >= 20);
            assert.deepStrictEqual(missingStackLabel(mocks, "dev"), []);
            assert.deepStrictEqual(missingStackLabel(mocks, "team-a", KEYS.installation), [], "every object carries the installation reap selects by");
            // A Deployment's selector is immutable: adding a key would make every existing mirror fail to update.
            for (const r of mocks.ofType(DEPLOYMENT)) {
                assert.deepStrictEqual(Object.keys(r.inputs.spec.selector.matchLabels).sort(), [KEYS.name, r.inputs.metadata.name === "aws-emulator" ? KEYS.component : KEYS.service].sort(), r.name);
            }
            for (const r of mocks.ofType("kubernetes:core/v1:Service")) {
                assert.ok(!(KEYS.stack in r.inputs.spec.selector), r.name);
            }
            const moto = mocks.one(DEPLOYMENT, "mirror-cloud-emulator").inputs.spec.template.spec.containers[0];
            const resources = JSON.parse(moto.env.find((e: { name: string }) => e.name === "PROD_MIRROR_RESOURCES").value);
            assert.strictEqual(resources.tags["prod-mirror:stack"], "dev", "the emulator's resources are tagged with the stack");
        });

        it("applies the mirror's overrides over production's replicas and resources", async () => {
            const { mocks } = await emulated();
            const gateway = mocks.one(DEPLOYMENT, app("gateway")).inputs.spec;
            assert.strictEqual(gateway.replicas, 1);
            assert.deepStrictEqual(gateway.template.spec.containers[0].resources, { limits: { cpu: "250m", memory: "128Mi" } });
            assert.strictEqual(mocks.one(DEPLOYMENT, app("api")).inputs.spec.replicas, 1);
        });

        it("wires each service to exactly the resources and services it uses", async () => {
            const { mocks } = await emulated();
            const endpoint = `http://aws-emulator.${NS}.svc.cluster.local:4566`;
            const access = { AWS_REGION: "us-east-1", AWS_DEFAULT_REGION: "us-east-1", AWS_ENDPOINT_URL: endpoint, AWS_ACCESS_KEY_ID: "secret:AWS_ACCESS_KEY_ID", AWS_SECRET_ACCESS_KEY: "secret:AWS_SECRET_ACCESS_KEY" };
            assert.deepStrictEqual(envOf(mocks, app("api")), {
                PORT: "8080",
                HOME: "/tmp",
                ...access,
                DEAL_EVENTS_QUEUE_URL: `${endpoint}/123456789012/${NAMES.queues["deal-events"]}`,
                DEAL_EVENTS_QUEUE_NAME: NAMES.queues["deal-events"],
                DEALS_TABLE: NAMES.tables.deals,
            });
            // The gateway uses no cloud resource, so it gets no AWS access either.
            assert.deepStrictEqual(envOf(mocks, app("gateway")), {
                PORT: "8000",
                HOME: "/tmp",
                API_URL: "http://api:8080",
                WORKER_URL: "http://worker:8081",
                LOG_LEVEL: "debug",
            });
        });

        it("deploys prebuilt images by branch tag and built ones by digest", async () => {
            const { mocks, mirror } = await emulated();
            assert.strictEqual(mocks.one(DEPLOYMENT, app("api")).inputs.spec.template.spec.containers[0].image, `127.0.0.1:5000/prod-mirror/api:feature-login-flow-${NS.slice(-8)}-3f2a9c1`);
            assert.strictEqual(mocks.one("docker:index/image:Image", "mirror-worker-image").inputs.imageName, `127.0.0.1:5000/prod-mirror/worker:feature-login-flow-${NS.slice(-8)}-3f2a9c1`);
            const workerImage = mocks.one(DEPLOYMENT, app("worker")).inputs.spec.template.spec.containers[0].image;
            if (preview) {
                // The digest exists only once the image is pushed.
                assert.ok(isUnknownValue(workerImage), String(workerImage));
                assert.strictEqual(await isKnown(mirror.images), false);
                return;
            }
            const images = await valueOf(mirror.images);
            assert.strictEqual(images.api, `127.0.0.1:5000/prod-mirror/api:feature-login-flow-${NS.slice(-8)}-3f2a9c1`);
            assert.strictEqual(workerImage, mocks.one("docker:index/image:Image", "mirror-worker-image").state.repoDigest);
            assert.strictEqual(images.worker, workerImage);
            assert.match(images.worker, /^127\.0\.0\.1:5000\/prod-mirror\/worker@sha256:[0-9a-f]{64}$/);
        });

        it("with imageBuilder external, declares no docker resource and deploys the externally pushed tag", async () => {
            const mocks = await useMocks(preview);
            const mirror = new ProductionMirror("mirror", args({ imageBuilder: "external", imageRepository: "team/mirror" }));
            await settle(mocks);
            assert.deepStrictEqual(mocks.registrations.filter((r) => r.type.startsWith("docker:")).map((r) => r.name), []);
            const tag = imageTag(CONTEXT.branch, CONTEXT.commit);
            const worker = builtImageName("127.0.0.1:5000", "team/mirror", "worker", tag);
            assert.strictEqual(mocks.one(DEPLOYMENT, app("worker")).inputs.spec.template.spec.containers[0].image, worker);
            const images = await valueOf(mirror.images);
            assert.strictEqual(images.worker, worker);
            // Prebuilt references are unaffected by the builder.
            assert.strictEqual(images.api, `127.0.0.1:5000/prod-mirror/api:${tag}`);
        });

        it("exports what a test runner needs", async () => {
            const { mirror } = await emulated();
            assert.strictEqual(await valueOf(mirror.namespace), NS);
            assert.deepStrictEqual(await valueOf(mirror.serviceUrls), {
                api: `http://api.${NS}.svc.cluster.local:8080`,
                worker: `http://worker.${NS}.svc.cluster.local:8081`,
                gateway: `http://gateway.${NS}.svc.cluster.local:8000`,
            });
            const cloud = await valueOf(mirror.cloud);
            assert.deepStrictEqual([cloud.mode, cloud.endpoint, cloud.tables.deals.name, cloud.buckets.receipts.name], ["emulated", `http://aws-emulator.${NS}.svc.cluster.local:4566`, NAMES.tables.deals, NAMES.buckets.receipts]);
            assert.strictEqual(await valueOf(mirror.expiresAt), CONTEXT.expiresAt);
            const env = await valueOf(mirror.runnerEnv);
            assert.deepStrictEqual(Object.keys(env).sort(), [
                "API_URL", "AWS_ENDPOINT_URL", "AWS_REGION", "DEALS_TABLE", "DEAL_EVENTS_QUEUE_NAME", "DEAL_EVENTS_QUEUE_URL",
                "GATEWAY_URL", "PROD_MIRROR_BRANCH", "PROD_MIRROR_EXPIRES_AT", "PROD_MIRROR_NAMESPACE", "RECEIPTS_BUCKET", "WORKER_URL",
            ]);
        });

        it("hands the test runner every variable, with the values a fresh emulated mirror has (literals)", async () => {
            // Built afresh, not from the shared fixture: a mutation run credits a construction to the
            // first test that ran it only.
            const mocks = await useMocks(preview);
            const mirror = new ProductionMirror("mirror", args());
            await settle(mocks);
            const ns = "pm-feature-login-flow-c03c5fae";
            const emulator = `http://aws-emulator.${ns}.svc.cluster.local:4566`;
            assert.deepStrictEqual(await valueOf(mirror.runnerEnv), {
                PROD_MIRROR_NAMESPACE: ns,
                PROD_MIRROR_BRANCH: "feature/Login-Flow",
                PROD_MIRROR_EXPIRES_AT: "2026-11-28T06:00:00.000Z",
                AWS_REGION: "us-east-1",
                AWS_ENDPOINT_URL: emulator,
                API_URL: `http://api.${ns}.svc.cluster.local:8080`,
                WORKER_URL: `http://worker.${ns}.svc.cluster.local:8081`,
                GATEWAY_URL: `http://gateway.${ns}.svc.cluster.local:8000`,
                DEAL_EVENTS_QUEUE_URL: `${emulator}/123456789012/${ns}-deal-events`,
                DEAL_EVENTS_QUEUE_NAME: `${ns}-deal-events`,
                RECEIPTS_BUCKET: `${ns}-receipts`,
                DEALS_TABLE: `${ns}-deals`,
            });
            // The emulator's pods, like the services', pull with the registered Secret and run as the registered ServiceAccount.
            const secret = mocks.kubernetesName("kubernetes:core/v1:Secret", "mirror-registry-pull");
            const account = mocks.kubernetesName("kubernetes:core/v1:ServiceAccount", "mirror-registry-workloads");
            for (const [type, name] of [[DEPLOYMENT, "mirror-cloud-emulator"], [DEPLOYMENT, `${ns}/gateway`]]) {
                const pod = mocks.one(type, name).inputs.spec.template.spec;
                assert.deepStrictEqual([pod.imagePullSecrets, pod.serviceAccountName], [[{ name: secret }], account], `${type} ${name}`);
            }
            assert.strictEqual(envOf(mocks, `${ns}/gateway`).API_URL, "http://api:8080");
        });

        it("in aws mode without an endpoint, gives the test runner no AWS_ENDPOINT_URL", async () => {
            const mocks = await useMocks(preview);
            const mirror = new ProductionMirror("mirror", args({ cloud: { mode: "aws", region: "eu-west-1" } }));
            await settle(mocks);
            if (preview) {
                // The queue's URL is the provider's answer: the whole environment waits for it.
                assert.strictEqual(await isKnown(mirror.runnerEnv), false);
                return;
            }
            const env = Object.keys(await valueOf(mirror.runnerEnv)).sort();
            assert.deepStrictEqual(env, [
                "API_URL", "AWS_REGION", "DEALS_TABLE", "DEAL_EVENTS_QUEUE_NAME", "DEAL_EVENTS_QUEUE_URL",
                "GATEWAY_URL", "PROD_MIRROR_BRANCH", "PROD_MIRROR_EXPIRES_AT", "PROD_MIRROR_NAMESPACE", "RECEIPTS_BUCKET", "WORKER_URL",
            ]);
        });

        it("starts the services' pods alongside the cloud resources and their own Services, after the stand-in Secrets (dependsOn, seen by a transformation)", async () => {
            const mocks = await useMocks(preview);
            const app2 = sampleApp();
            app2.standIns = { secrets: [{ name: "signing", keys: ["key"] }] };
            const urns = await workloadDependencies(mocks, args({ app: app2 }));
            const standIn = "urn:pulumi:unit::prod-mirror::prod-mirror:mirror:ProductionMirror$prod-mirror:k8s:StandIn::mirror-standin-signing";
            const namespace = "urn:pulumi:unit::prod-mirror::prod-mirror:k8s:BranchNamespace$kubernetes:core/v1:Namespace::mirror-ns-namespace";
            assert.deepStrictEqual(urns, { [app("api")]: [namespace, standIn], [app("worker")]: [namespace, standIn], [app("gateway")]: [namespace, standIn] });
        });

        it("bounds the wait for each of production's objects by readyTimeoutSeconds (default 180 s), and leaves the emulator's own bounds", async () => {
            const timeouts = async (overrides: Partial<ProductionMirrorArgs>): Promise<Record<string, unknown>> => {
                const mocks = await useMocks(preview);
                const seen: Record<string, unknown> = {};
                const record = (a: pulumi.ResourceTransformationArgs): undefined => {
                    if (a.type.startsWith("kubernetes:") && !a.type.startsWith("kubernetes:yaml:")) {
                        seen[`${a.type.split(":")[2]} ${a.name}`] = a.opts.customTimeouts;
                    }
                    return undefined;
                };
                new ProductionMirror("mirror", args(overrides), { transformations: [record] });
                await settle(mocks);
                return seen;
            };
            const ofProduction = (seen: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(seen).filter(([k]) => k.includes(` ${NS}/`)));
            const bound = (s: string): unknown => ({ create: s, update: s });
            const byDefault = await timeouts({});
            assert.deepStrictEqual(ofProduction(byDefault), {
                [`Deployment ${app("api")}`]: bound("180s"),
                [`Deployment ${app("worker")}`]: bound("180s"),
                [`Deployment ${app("gateway")}`]: bound("180s"),
                [`Service ${app("api")}`]: bound("180s"),
                [`Service ${app("worker")}`]: bound("180s"),
                [`Service ${app("gateway")}`]: bound("180s"),
            });
            assert.deepStrictEqual(byDefault["Deployment mirror-cloud-emulator"], { create: "5m", update: "5m", delete: "2m" });
            assert.deepStrictEqual(Object.values(ofProduction(await timeouts({ readyTimeoutSeconds: 60 }))), Array(6).fill(bound("60s")));
        });

        it("refuses a readiness bound out of range, naming it and the range", async () => {
            await useMocks(preview);
            for (const readyTimeoutSeconds of [9, 3601, 1.5]) {
                assert.throws(() => new ProductionMirror("mirror", args({ readyTimeoutSeconds })), {
                    message: `ProductionMirror mirror: readyTimeoutSeconds ${readyTimeoutSeconds} is out of range: the workloads' readiness bound is 10 to 3600 seconds, e.g. 180`,
                });
            }
        });

        it("refuses a probe period cap out of range, naming it and the range", async () => {
            await useMocks(preview);
            for (const probePeriodSeconds of [-1, 61, 0.5]) {
                assert.throws(() => new ProductionMirror("mirror", args({ probePeriodSeconds })), {
                    message:
                        `ProductionMirror mirror: probePeriodSeconds ${probePeriodSeconds} is out of range: the probe period cap is a whole number of seconds ` +
                        `from 1 to 60, or 0 to keep production's probes, e.g. 1`,
                });
            }
        });

        it("sends the registry password to the engine only inside secrets", async () => {
            const { mocks } = await emulated();
            const leaks = mocks.registrations.flatMap((r) => plaintextPaths(r.rawInputs, PASSWORD).map((p) => `${r.type} ${r.name}${p}`));
            assert.deepStrictEqual(leaks, []);
            const base64 = Buffer.from(`ci-bot:${PASSWORD}`).toString("base64");
            assert.deepStrictEqual(mocks.registrations.flatMap((r) => plaintextPaths(r.rawInputs, base64)), []);
        });

        it("lets two mirrors live in one program without a single name collision", async () => {
            const mocks = await useMocks(preview);
            new ProductionMirror("one", args());
            new ProductionMirror("two", args({ context: { ...CONTEXT, branch: "feature/other" } }));
            await settle(mocks);
            const urns = registeredUrns();
            assert.strictEqual(new Set(urns).size, urns.length);
            const namespaces = mocks.ofType("kubernetes:core/v1:Namespace").map((r) => r.inputs.metadata.name);
            assert.strictEqual(new Set(namespaces).size, 2);
        });

        it("names two forks' patch-1 pull requests apart: namespaces, images and cloud names keyed by the pull request", async () => {
            const mocks = await useMocks(preview);
            const alice = new ProductionMirror("alice", args({ context: { ...CONTEXT, branch: "patch-1", pullRequest: { number: 12, sourceRepo: "alice/app" } } }));
            const bob = new ProductionMirror("bob", args({ context: { ...CONTEXT, branch: "patch-1", pullRequest: { number: 13, sourceRepo: "bob/app" } } }));
            await settle(mocks);
            const namespaces = mocks.ofType("kubernetes:core/v1:Namespace").map((r) => r.inputs.metadata.name as string);
            assert.deepStrictEqual(namespaces, [namespaceName("pr:12:alice/app", "pm"), namespaceName("pr:13:bob/app", "pm")]);
            assert.ok(!namespaces.includes(namespaceName("patch-1", "pm")));
            const cloud = await Promise.all([valueOf(alice.cloud), valueOf(bob.cloud)]);
            assert.notStrictEqual(cloud[0].queues["deal-events"].name, cloud[1].queues["deal-events"].name);
            if (!preview) {
                const images = await Promise.all([valueOf(alice.images), valueOf(bob.images)]);
                assert.ok(images[0].api.endsWith(`:${imageTag("pr:12:alice/app", CONTEXT.commit)}`), images[0].api);
                assert.notStrictEqual(images[0].api, images[1].api);
            }
        });

        it("in aws mode, uses the explicit provider, opens egress to the endpoint and keeps the wiring", async () => {
            const mocks = await useMocks(preview);
            new ProductionMirror(
                "mirror",
                args({ cloud: { mode: "aws", region: "eu-west-1", endpoint: "http://127.0.0.1:4566", workloadEndpoint: "http://10.0.0.1:4566", accessKeyId: pulumi.secret("AKIA"), secretAccessKey: pulumi.secret("sk") } }),
            );
            await settle(mocks);
            assert.deepStrictEqual(mocks.ofType("kubernetes:batch/v1:Job"), []);
            assert.ok(mocks.registrations.filter((r) => r.type.startsWith("aws:")).every((r) => /pulumi:providers:aws::mirror-cloud-provider::/.test(r.provider ?? "")));
            assert.deepStrictEqual(mocks.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "mirror-ns-allow-external").inputs.spec.egress[0].ports, [{ protocol: "TCP", port: 443 }, { protocol: "TCP", port: 4566 }]);
            assert.deepStrictEqual(missingStackLabel(mocks, "dev"), [], "the credentials Secret too");
            assert.deepStrictEqual(missingStackLabel(mocks, "team-a", KEYS.installation), []);
            // A user's inline policy and access key cannot carry tags; they go with the (tagged) user.
            const untaggable = ["aws:iam/userPolicy:UserPolicy", "aws:iam/accessKey:AccessKey"];
            const untagged = mocks.registrations.filter(
                (r) => r.type.startsWith("aws:") && !untaggable.includes(r.type) && (r.inputs.tags?.["prod-mirror:stack"] !== "dev" || r.inputs.tags?.["prod-mirror:installation"] !== "team-a"),
            );
            assert.deepStrictEqual(untagged.map((r) => r.name), []);
            assert.deepStrictEqual(mocks.ofType("aws:iam/user:User").map((r) => r.inputs.tags["prod-mirror:stack"]), ["dev"]);
            const env = envOf(mocks, app("api"));
            assert.strictEqual(env.AWS_ENDPOINT_URL, "http://10.0.0.1:4566");
            assert.strictEqual(env.AWS_ACCESS_KEY_ID, "secret:AWS_ACCESS_KEY_ID");
            if (preview) {
                // The name is known, the table's own answer is not: the Deployment waits for it.
                assert.ok(isUnknownValue(env.DEALS_TABLE) || env.DEALS_TABLE === NAMES.tables.deals, String(env.DEALS_TABLE));
            } else {
                assert.strictEqual(env.DEALS_TABLE, NAMES.tables.deals);
            }
        });
    });

    inBothModes((preview) => {
        const DEPLOYER = { accessKeyId: pulumi.secret("AKIADEPLOYER0000"), secretAccessKey: pulumi.secret("deployer-secret-access-key") };

        it("in aws mode, no pod, Job or Secret carries the deployer's keys: every pod's key is the mirror's own", async () => {
            const mocks = await useMocks(preview);
            new ProductionMirror("mirror", args({ cloud: { mode: "aws", region: "eu-west-1", ...DEPLOYER } }));
            await settle(mocks);
            const kube = mocks.registrations.filter((r) => r.type.startsWith("kubernetes:"));
            assert.deepStrictEqual(kube.filter((r) => /AKIADEPLOYER0000|deployer-secret-access-key/.test(JSON.stringify(r.inputs))).map((r) => r.name), []);
            const workloadSecret = mocks.one("kubernetes:core/v1:Secret", "mirror-cloud-credentials");
            if (preview) {
                assert.ok(isUnknownValue(workloadSecret.inputs.stringData), "the key exists only once AWS made it");
            } else {
                assert.deepStrictEqual(workloadSecret.inputs.stringData, { AWS_ACCESS_KEY_ID: "mirror-cloud-workload-id", AWS_SECRET_ACCESS_KEY: "secret-of-mirror-cloud-workload" });
            }
            assert.deepStrictEqual(mocks.ofType(DEPLOYMENT).map((r) => r.name).sort(), [app("api"), app("gateway"), app("worker")]);
            // Only the services that use a cloud resource get its access: api and worker.
            for (const deployment of mocks.ofType(DEPLOYMENT).filter((d) => d.name !== app("gateway"))) {
                const keyEnv = deployment.inputs.spec.template.spec.containers
                    .flatMap((c: any) => c.env ?? [])
                    .filter((e: any) => /^AWS_.*(KEY|TOKEN)/.test(e.name));
                const secretName = keyEnv[0]?.valueFrom?.secretKeyRef?.name;
                assert.strictEqual(secretName, mocks.kubernetesName("kubernetes:core/v1:Secret", "mirror-cloud-credentials"), deployment.name);
                assert.deepStrictEqual(keyEnv, ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"].map((key) => ({ name: key, valueFrom: { secretKeyRef: { name: secretName, key } } })), deployment.name);
            }
            // The deployer's keys stay with Pulumi's provider, as secrets.
            const provider = mocks.one("pulumi:providers:aws", "mirror-cloud-provider");
            assert.ok(isSecretValue(provider.rawInputs.accessKey) && isSecretValue(provider.rawInputs.secretKey));
        });

        it("in aws mode under workload identity, puts the role on the workloads' ServiceAccount and makes no user, key or key variables", async () => {
            const role = "arn:aws:iam::123456789012:role/prod-mirror-workloads";
            const mocks = await useMocks(preview);
            new ProductionMirror("mirror", args({ cloud: { mode: "aws", region: "eu-west-1", ...DEPLOYER, workloadIdentityRoleArn: role } }));
            await settle(mocks);
            const account = mocks.one("kubernetes:core/v1:ServiceAccount", "mirror-registry-workloads").inputs;
            assert.deepStrictEqual(account.metadata.annotations, { "eks.amazonaws.com/role-arn": role });
            assert.deepStrictEqual(mocks.registrations.filter((r) => r.type.startsWith("aws:iam/")), []);
            assert.deepStrictEqual(mocks.ofType("kubernetes:core/v1:Secret").map((r) => r.name), ["mirror-registry-pull"]);
            const env = envOf(mocks, app("api"));
            assert.deepStrictEqual([env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY, env.AWS_REGION], [undefined, undefined, "eu-west-1"]);
            assert.match(mocks.one(DEPLOYMENT, app("api")).inputs.spec.template.spec.serviceAccountName, /^mirror-registry-workloads-[0-9a-f]{8}$/);
        });

        it("refuses a workload identity that is not an IAM role ARN, naming it", async () => {
            await useMocks(preview);
            assert.throws(
                () => new ProductionMirror("mirror", args({ cloud: { mode: "aws", region: "eu-west-1", workloadIdentityRoleArn: "arn:aws:iam::123456789012:user/ci" } })),
                {
                    message:
                        "AwsCloudResources mirror-cloud: workloadIdentityRoleArn must be an IAM role ARN such as " +
                        'arn:aws:iam::123456789012:role/prod-mirror-workloads, got "arn:aws:iam::123456789012:user/ci"',
                },
            );
        });
    });

    inBothModes((preview) => {
        /** Production's own objects, as a renderer would hand them over. */
        const productionObjects = (): KubeObject[] => [
            { apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", metadata: { name: "critical" }, value: 1000 },
            { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "aws", namespace: "deals" }, data: { TABLE: "acme-deals", LOG: "info" } },
            {
                apiVersion: "apps/v1",
                kind: "Deployment",
                metadata: { name: "web", namespace: "deals" },
                spec: {
                    selector: { matchLabels: { app: "web" } },
                    template: {
                        metadata: { labels: { app: "web" } },
                        spec: {
                            priorityClassName: "critical",
                            securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
                            containers: [
                                {
                                    name: "web",
                                    image: "registry.example.com/deals/web:2.0.0",
                                    envFrom: [{ configMapRef: { name: "aws" } }],
                                    env: [{ name: "SIGNING_KEY", valueFrom: { secretKeyRef: { name: "signing", key: "key" } } }],
                                    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
                                },
                                { name: "cache", image: "redis:7", securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } } },
                            ],
                        },
                    },
                },
            },
            { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "deals" }, spec: { selector: { app: "web" }, ports: [{ port: 8080 }] } },
        ];
        const deployed = (): ProductionMirrorArgs => {
            const app = sampleApp();
            app.services = [];
            app.deployment = { kind: "kustomize", directory: "deploy/production" };
            app.images = [{ production: "registry.example.com/deals/web", service: "web", build: { context: "app", args: {} } }];
            app.cloud.tables[0].production = "acme-deals";
            app.standIns = { secrets: [{ name: "signing", keys: ["key"] }] };
            return args({ app, overrides: {}, imageBuilder: "external", production: productionObjects() });
        };

        it("starts production's pods after the ConfigMaps, Secrets and ServiceAccounts they read, not after its Services (dependsOn)", async () => {
            const mocks = await useMocks(preview);
            const withAccount = deployed();
            withAccount.production = [
                ...productionObjects(),
                { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "deals", namespace: "deals" } },
                { apiVersion: "v1", kind: "Secret", metadata: { name: "tls", namespace: "deals" }, type: "Opaque", data: {} },
            ];
            const urns = await workloadDependencies(mocks, withAccount);
            // The mocks' URNs carry the parent's type only, not the whole chain the engine's would.
            const group = "urn:pulumi:unit::prod-mirror::kubernetes:yaml:ConfigGroup$";
            assert.deepStrictEqual(urns, {
                [app("web")]: [
                    "urn:pulumi:unit::prod-mirror::prod-mirror:k8s:BranchNamespace$kubernetes:core/v1:Namespace::mirror-ns-namespace",
                    "urn:pulumi:unit::prod-mirror::prod-mirror:mirror:ProductionMirror$prod-mirror:k8s:StandIn::mirror-standin-signing",
                    `${group}kubernetes:core/v1:ConfigMap::${app("aws")}`,
                    `${group}kubernetes:core/v1:ServiceAccount::${app("deals")}`,
                    `${group}kubernetes:core/v1:Secret::${app("tls")}`,
                ],
            });
        });

        it("mirrors production's own objects: rendered into the branch's namespace, rewritten, applied, with a stand-in and the report", async () => {
            const mocks = await useMocks(preview);
            const mirror = new ProductionMirror("mirror", deployed());
            await settle(mocks);
            // Applied: production's namespaced objects, in the branch's namespace; the PriorityClass is not.
            assert.deepStrictEqual(mocks.ofType("kubernetes:scheduling.k8s.io/v1:PriorityClass"), []);
            const web = mocks.one(DEPLOYMENT, app("web")).inputs;
            const tag = imageTag(CONTEXT.branch, CONTEXT.commit);
            assert.deepStrictEqual(web.spec.template.spec.containers.map((c: any) => c.image), [`127.0.0.1:5000/prod-mirror/web:${tag}`, "redis:7"]);
            assert.strictEqual(web.spec.template.spec.priorityClassName, undefined);
            assert.deepStrictEqual(mocks.one("kubernetes:core/v1:ConfigMap", app("aws")).inputs.data, { TABLE: NAMES.tables.deals, LOG: "info" });
            // The stand-in: production's name, the referenced key, a generated value sent only as a secret.
            const standIn = mocks.one("kubernetes:core/v1:Secret", "mirror-standin-signing-secret");
            assert.deepStrictEqual([standIn.inputs.metadata.name, standIn.inputs.metadata.namespace, Object.keys(standIn.inputs.data)], ["signing", NS, ["key"]]);
            assert.ok(isSecretValue(standIn.rawInputs.data), "the stand-in's value reached the engine in plain text");
            assert.match(Buffer.from(standIn.inputs.data.key, "base64").toString("utf8"), /^[A-Za-z0-9_-]{43}$/);
            // The Deployment waits for the cloud resources and the stand-in.
            assert.deepStrictEqual(await valueOf(mirror.serviceUrls), { web: `http://web.${NS}.svc.cluster.local:8080` });
            assert.strictEqual(await valueOf(mirror.entryService), "web");
            const report = await valueOf(mirror.fidelity);
            assert.deepStrictEqual(report.skipped.map((s) => s.object), ["PriorityClass/critical"]);
            assert.deepStrictEqual(report.imagesKept, [{ object: "Deployment/web", container: "cache", image: "redis:7" }]);
            assert.deepStrictEqual(report.standIns, [{ secret: "signing", keys: ["key"], referencedBy: ["Deployment/web"] }]);
            const image = report.objects.find((o) => o.object === "Deployment/web")?.changes.find((c) => c.rule === "image");
            assert.deepStrictEqual(image, { path: "/spec/template/spec/containers/0/image", production: "registry.example.com/deals/web:2.0.0", mirror: `127.0.0.1:5000/prod-mirror/web:${tag}`, rule: "image" });
            const account = mocks.kubernetesName("kubernetes:core/v1:ServiceAccount", "mirror-registry-workloads");
            const bound = report.objects.find((o) => o.object === "Deployment/web")?.changes.find((c) => c.rule === "service-account");
            assert.deepStrictEqual(bound?.mirror, account, "the report carries the late name itself, not a placeholder");
            assert.ok(!JSON.stringify(report).includes("prod-mirror-late-"), "a placeholder leaked into the report");
        });

        it("refuses production's objects it cannot mirror faithfully, declaring none of them", async () => {
            const mocks = await useMocks(preview);
            const bad = deployed();
            bad.app.standIns = { secrets: [] };
            const pod = (bad.production as KubeObject[])[2].spec as any;
            pod.template.spec.containers[1].securityContext.privileged = true;
            assert.throws(() => new ProductionMirror("mirror", bad), (err: Error) => {
                assert.match(err.message, /^ProductionMirror mirror: 2 problems in production's objects:\n- Deployment\/web: .*signing.*\n- Deployment\/web: .*privileged/s);
                return true;
            });
            await settle(mocks);
            assert.deepStrictEqual(mocks.registrations.map((r) => `${r.type} ${r.name}`), [], "a mirror that cannot be faithful declares nothing");
        });
    });

    it("aliases each Deployment and Service to where a mirror made before the rewrite kept it, and nothing else", async () => {
        const mocks = await useMocks(false);
        const mirror = new ProductionMirror("mirror", args());
        await settle(mocks);
        const [deployment] = legacyAliases("mirror", { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "api" } }, mirror) as Array<{ name: string; parent: pulumi.Output<string> }>;
        assert.strictEqual(deployment.name, "mirror-api-deployment");
        assert.strictEqual(await valueOf(deployment.parent), "urn:pulumi:unit::prod-mirror::prod-mirror:mirror:ProductionMirror$prod-mirror:app:MirrorService::mirror-api");
        const [service] = legacyAliases("mirror", { apiVersion: "v1", kind: "Service", metadata: { name: "web" } }, mirror) as Array<{ name: string }>;
        assert.strictEqual(service.name, "mirror-web-service");
        assert.deepStrictEqual(legacyAliases("mirror", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "api" } }, mirror), []);
        assert.deepStrictEqual(legacyAliases("mirror", { apiVersion: "serving.knative.dev/v1", kind: "Service", metadata: { name: "api" } }, mirror), []);
    });

    it("refuses a description whose `uses` names something undeclared", async () => {
        await useMocks(false);
        const app = sampleApp();
        app.services[0].uses.tables.push("ledger");
        assert.throws(
            () => new ProductionMirror("bad", args({ app })),
            /^Error: ProductionMirror bad: service api uses tables "ledger", which the description does not declare \(declared: deals\)$/,
        );
    });

    it("refuses a service named like the mirror's own emulator, as the parser does", async () => {
        await useMocks(false);
        const app = sampleApp();
        app.services[0].name = "aws-emulator";
        assert.throws(
            () => new ProductionMirror("bad", args({ app })),
            (err: Error) =>
                err.message === `ProductionMirror bad: services[0].name: a name not taken in the namespace (aws-emulator: the mirror's AWS emulator), got "aws-emulator"`,
        );
    });

    it("needs no external egress when emulated, 443 for real AWS", () => {
        assert.deepStrictEqual(externalEgressPorts({ mode: "emulated", region: "us-east-1", image: "x" }), []);
        assert.deepStrictEqual(externalEgressPorts({ mode: "aws", region: "us-east-1" }), [443]);
        assert.deepStrictEqual(externalEgressPorts({ mode: "aws", region: "us-east-1", endpoint: "http://moto.example" }), [80, 443]);
        assert.deepStrictEqual(externalEgressPorts({ mode: "aws", region: "us-east-1", endpoint: "https://proxy.example" }), [443]);
        assert.deepStrictEqual(externalEgressPorts({ mode: "aws", region: "us-east-1", endpoint: "http://10.0.0.1:4566" }), [443, 4566]);
        // The pods' endpoint, not Pulumi's, is what the policy must open.
        assert.deepStrictEqual(externalEgressPorts({ mode: "aws", region: "us-east-1", endpoint: "http://127.0.0.1:4566", workloadEndpoint: "http://10.0.0.1:9000" }), [443, 9000]);
    });

    it("wires services by names alone: http://<service>.<namespace>.svc.<domain>:<port>", () => {
        assert.strictEqual(serviceUrl("api", "pm-main", 8080, "corp.internal"), "http://api.pm-main.svc.corp.internal:8080");
    });

    const problems: Array<[string, (app: ReturnType<typeof sampleApp>) => void, string]> = [
        ["a service using itself", (app) => app.services[0].uses.services.push("api"), 'service api uses itself: list other services under uses.services (declared: worker, gateway)'],
        ["a queue named like the service that uses it, undeclared", (app) => app.services[0].uses.queues.push("api"), 'service api uses queues "api", which the description does not declare (declared: deal-events)'],
        ["the only service using itself", (app) => { app.services = [app.services[0]]; app.services[0].uses.services = ["api"]; }, "service api uses itself: list other services under uses.services (declared: none)"],
        ["an undeclared service", (app) => app.services[1].uses.services.push("billing"), 'service worker uses services "billing", which the description does not declare (declared: api, worker, gateway)'],
        ["a queue when none is declared", (app) => { app.cloud.queues = []; app.services.forEach((s) => (s.uses.queues = [])); app.services[0].uses.queues.push("jobs"); }, 'service api uses queues "jobs", which the description does not declare (declared: none)'],
        ["a service named kubernetes", (app) => (app.services[2].name = "kubernetes"), 'services[2].name: a name not taken in the namespace (kubernetes: its service links would replace KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT in every pod), got "kubernetes"'],
        ["a privileged port", (app) => (app.services[1].port = 80), "services[1].port: expected a port from 1024 to 65535: the mirror's pods run as non-root (uid 65532) with no capabilities and cannot bind ports below 1024; make the service listen on a higher port (it gets it as PORT), got 80"],
        ["a service with both image and build", (app) => (app.services[0].build = { context: "app", args: {} }), 'services[0]: expected exactly one of image (a prebuilt reference) or build (a context to build), got {"image":"127.0.0.1:5000/prod-mirror/api:{tag}","build":{"context":"app","args":{}}}'],
        ["a table name no layer accepts", (app) => (app.cloud.tables[0].name = "Deals"), 'cloud.tables[0].name: a name usable in Kubernetes and AWS names: it must start with a lowercase letter, contain only [a-z0-9-] and not end with a hyphen, got "Deals"'],
        ["a bucket declared twice", (app) => app.cloud.buckets.push({ name: "receipts" }), 'cloud.buckets[1].name: a bucket name used only once, got "receipts"'],
        ["no service at all", (app) => { app.services = []; }, 'services: expected at least one service, got []'],
    ];
    for (const [what, edit, message] of problems) {
        it(`refuses ${what}, naming it and what is declared`, () => {
            const app = sampleApp();
            edit(app);
            assert.strictEqual(appProblem(app), message);
        });
    }

    it("accepts the sample description, where services use each other", () => {
        assert.strictEqual(appProblem(sampleApp()), undefined);
    });

    it("accepts a service using a queue that shares its name: only a service may not use itself", () => {
        const app = sampleApp();
        app.cloud.queues.push({ name: "api", visibilityTimeoutSeconds: 30 });
        app.services[0].uses.queues.push("api");
        assert.strictEqual(appProblem(app), undefined);
    });
});
