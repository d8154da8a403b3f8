// The component library: every component and the pure modules they share.
export * from "./app-image";
export * from "./aws-cloud-resources";
export * from "./aws-workload-policy";
export * from "./branch-context";
export * from "./branch-namespace";
export * from "./cloud-resources";
export * from "./config";
export * from "./emulated-cloud-resources";
export * from "./env-contract";
export * from "./expiry";
export * from "./image-reference";
export * from "./manifests";
export * from "./mirror-service";
export * from "./naming";
export * from "./production-mirror";
export * from "./registry-secret";
