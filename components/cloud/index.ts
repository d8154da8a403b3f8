// The cloud modes: the selector that picks one, and the env a container needs to reach either.
// What both share (args, outputs, names) is shape.ts, which the modes import, so no module here
// imports the one that imports it.
import * as pulumi from "@pulumi/pulumi";
import { AwsCloudResources, AwsCloudSettings } from "./aws";
import { EmulatedCloudResources, EmulatedCloudSettings } from "./emulated";
import type { CloudResources, CloudResourcesArgs } from "./shape";

export * from "./aws";
export * from "./aws-workload-policy";
export * from "./emulated";
export * from "./shape";

/** Mode-specific settings, tagged by mode. */
export type CloudSettings = ({ mode: "aws" } & AwsCloudSettings) | ({ mode: "emulated" } & EmulatedCloudSettings);

/** Creates the cloud resources in the stack's mode. */
export function createCloudResources(
    name: string,
    args: CloudResourcesArgs,
    settings: CloudSettings,
    opts?: pulumi.ComponentResourceOptions,
): CloudResources {
    return settings.mode === "aws"
        ? new AwsCloudResources(name, { ...args, ...settings }, opts)
        : new EmulatedCloudResources(name, { ...args, ...settings }, opts);
}

/** An env entry whose values may be Outputs, as cloudAccessEnv gives them. */
export interface CloudEnvVar {
    name: string;
    value?: pulumi.Input<string>;
    valueFrom?: { secretKeyRef: { name: pulumi.Input<string>; key: string } };
}

/**
 * The environment every container that uses one of the mirror's cloud names needs to reach it:
 * region, endpoint (absent on real AWS) and the credentials Secret (absent with ambient credentials).
 * The names themselves are production's values, mapped by the rewrite.
 */
export function cloudAccessEnv(cloud: CloudResources): CloudEnvVar[] {
    const env: CloudEnvVar[] = [
        { name: "AWS_REGION", value: cloud.region },
        { name: "AWS_DEFAULT_REGION", value: cloud.region },
    ];
    if (cloud.endpoint !== undefined) {
        env.push({ name: "AWS_ENDPOINT_URL", value: cloud.endpoint });
    }
    if (cloud.credentialsSecretName !== undefined) {
        for (const key of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]) {
            env.push({ name: key, valueFrom: { secretKeyRef: { name: cloud.credentialsSecretName, key } } });
        }
    }
    return env;
}
