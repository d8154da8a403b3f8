// prod-mirror:appFile: it resolves inside the project (symbolic links included), is size-capped, an
// error never echoes the file's contents, and YAML alias bombs are refused. Real files in a
// temporary project directory, read the way index.ts and the CLI read them.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { APP_FILE_MAX_BYTES, YAML_MAX_VALUES } from "../../components/app-file";
import { ConfigError } from "../../components/config-error";
import { parseSettings } from "../../components/settings";
import { readProjectFile } from "../../components/project-file";
import { EMULATOR_IMAGE } from "./fixtures";

const SECRET = "s3cr3t-Registry-Passw0rd";
const KEY = "prod-mirror:appFile in Pulumi.dev.yaml is invalid";

describe("app file (prod-mirror:appFile)", () => {
    let root: string;
    let project: string;

    before(() => {
        root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "pm-appfile-")));
        project = path.join(root, "project");
        fs.mkdirSync(path.join(project, "app"), { recursive: true });
        fs.writeFileSync(path.join(root, "credentials.env"), `REGISTRY_USERNAME=prod-mirror\nREGISTRY_PASSWORD=${SECRET}\n`);
        fs.writeFileSync(path.join(project, "app", "production.yaml"), "services:\n  - {name: api, port: 8080, image: r/api}\n");
        fs.symlinkSync(path.join(root, "credentials.env"), path.join(project, "app", "creds.yaml"));
        fs.symlinkSync(path.join(project, "app", "production.yaml"), path.join(project, "linked.yaml"));
        fs.symlinkSync(root, path.join(project, "up"));
    });

    after(() => fs.rmSync(root, { recursive: true, force: true }));

    /** Parses with appFile = `file`, read from `project` as index.ts reads it; returns the error text. */
    function errorOf(file: string): string {
        try {
            parseSettings({ registryUsername: "ci-bot", emulatorImage: EMULATOR_IMAGE, appFile: file }, { stack: "dev", readFile: (p) => readProjectFile(project, p, APP_FILE_MAX_BYTES) });
        } catch (err) {
            assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
            assert.ok(!err.message.includes(SECRET), `the error echoes the secret: ${err.message}`);
            return err.message;
        }
        return assert.fail(`${file} parsed without an error`);
    }

    /** Writes `text` as the project's file `name`, parses it, and returns the error text. */
    function errorOfText(name: string, text: string): string {
        fs.writeFileSync(path.join(project, name), text);
        return errorOf(name);
    }

    it("reads a file inside the project, also through a symbolic link that stays inside", () => {
        const read = (file: string) => parseSettings({ registryUsername: "ci-bot", emulatorImage: EMULATOR_IMAGE, appFile: file }, { stack: "dev", readFile: (p) => readProjectFile(project, p, APP_FILE_MAX_BYTES) });
        assert.strictEqual(read("app/production.yaml").app.services[0].name, "api");
        assert.strictEqual(read("linked.yaml").app.services[0].port, 8080);
    });

    it("refuses a path that climbs out with .., or is absolute, before reading anything", () => {
        assert.strictEqual(
            errorOf("../credentials.env"),
            `${KEY}: expected a path relative to the project directory that stays inside it (it climbs out with ..), got "../credentials.env". Example: prod-mirror:appFile: app/production.yaml`,
        );
        assert.strictEqual(errorOf("app/../../credentials.env").split(", got")[0], `${KEY}: expected a path relative to the project directory that stays inside it (it climbs out with ..)`);
        assert.strictEqual(
            errorOf(path.join(root, "credentials.env")),
            `${KEY}: expected a path relative to the project directory that stays inside it (it is absolute), got ${JSON.stringify(path.join(root, "credentials.env"))}. Example: prod-mirror:appFile: app/production.yaml`,
        );
    });

    it("refuses a symbolic link that leads out of the project, naming where it leads", () => {
        assert.strictEqual(
            errorOf("app/creds.yaml"),
            `${KEY}: expected a readable project-relative file (it resolves to ${path.join(root, "credentials.env")}, outside the project directory ${project} ` +
                '(a symbolic link leads out)), got "app/creds.yaml". Example: prod-mirror:appFile: production.yaml',
        );
        assert.match(errorOf("up/credentials.env"), /\(it resolves to .*credentials\.env, outside the project directory .*\(a symbolic link leads out\)\)/);
    });

    it("refuses a file larger than 256 KiB without reading it, and a directory", () => {
        assert.strictEqual(APP_FILE_MAX_BYTES, 262144);
        fs.writeFileSync(path.join(project, "big.yaml"), Buffer.alloc(APP_FILE_MAX_BYTES + 1, 0x20));
        assert.strictEqual(
            errorOf("big.yaml"),
            `${KEY}: expected a readable project-relative file (it is 262145 bytes, more than the 262144 an app description may be), got "big.yaml". Example: prod-mirror:appFile: production.yaml`,
        );
        fs.writeFileSync(path.join(project, "full.yaml"), `services: []\n${" ".repeat(APP_FILE_MAX_BYTES - 13)}`);
        assert.strictEqual(fs.statSync(path.join(project, "full.yaml")).size, APP_FILE_MAX_BYTES);
        assert.match(errorOf("full.yaml"), /services in .* expected at least one service/);
        assert.match(errorOf("app"), /\(.*app is not a regular file\)/);
    });

    it("refuses the project directory itself as a directory", () => {
        assert.strictEqual(errorOf("."), `${KEY}: expected a readable project-relative file (${project} is not a regular file), got ".". Example: prod-mirror:appFile: production.yaml`);
    });

    it("reads a file of exactly the limit whole, and closes every file it opened, read or refused", () => {
        fs.writeFileSync(path.join(project, "ten.yaml"), "0123456789");
        fs.writeFileSync(path.join(project, "eleven.yaml"), "0123456789A");
        const openFiles = (): number => fs.readdirSync("/proc/self/fd").length;
        const before = openFiles();
        for (let i = 0; i < 20; i++) {
            assert.strictEqual(readProjectFile(project, "ten.yaml", 10), "0123456789");
            assert.throws(() => readProjectFile(project, "eleven.yaml", 10), { message: "it is 11 bytes, more than the 10 an app description may be" });
            assert.throws(() => readProjectFile(project, "app", 10), { message: `${path.join(project, "app")} is not a regular file` });
        }
        assert.strictEqual(openFiles(), before);
    });

    // Each file below holds the secret in another shape; the assertion inside errorOf is the test.
    it("never echoes the contents of a file that is not a description", () => {
        const quoted = `REGISTRY_USERNAME=prod-mirror\nREGISTRY_PASSWORD=${SECRET}\n`;
        assert.strictEqual(
            errorOfText("dotenv.yaml", quoted),
            "the document in dotenv.yaml (named by prod-mirror:appFile in Pulumi.dev.yaml) is invalid: expected an object, got a string of 72 characters. " +
                'Example: the document: {"services": [{"name": "api", "port": 8080, "image": "127.0.0.1:5000/prod-mirror/api:{tag}", "uses": {"tables": ["deals"]}}], "cloud": {"tables": [{"name": "deals", "hashKey": "id"}]}}',
        );
        assert.strictEqual(
            errorOfText("docker.json", JSON.stringify({ auths: { "registry.example:5000": { auth: Buffer.from(`ci:${SECRET}`).toString("base64"), password: SECRET } } })).split(". Example")[0],
            "the document in docker.json (named by prod-mirror:appFile in Pulumi.dev.yaml) is invalid: expected only the fields services, cloud, deployment, images, standIns, customResourceKinds, but 1 other " +
                "top-level field(s) are there (not named here, in case the file is not a description), got an object with 1 fields",
        );
        assert.match(errorOfText("key.yaml", `${SECRET}: 1\n`), /but 1 other top-level field\(s\) are there/);
        // js-yaml's own message quotes the line it failed on.
        assert.strictEqual(
            errorOfText("broken.yaml", `services:\n  - name: api\n password: "${SECRET}\n`).split(". Example")[0],
            "the document in broken.yaml (named by prod-mirror:appFile in Pulumi.dev.yaml) is invalid: expected YAML or JSON " +
                "(bad indentation of a mapping entry at line 3, column 2), got a string of 61 characters",
        );
        assert.match(errorOfText("alias.yaml", `services: *${SECRET}\n`), /expected YAML or JSON \(not valid YAML at line 1, column \d+\)/);
        assert.match(errorOfText("nested.yaml", `services:\n  - name: api\n    port: 8080\n    image: r/api\n    env: {TOKEN: [${SECRET}]}\n`), /services\[0\]\.env\.TOKEN .* expected a string, got a list of 1 items/);
    });

    it("takes a description of exactly 10000 values and refuses one of 10001, counting each string as one", () => {
        // 7 values besides env's: the document, services, the service, its name, port, image and env.
        const file = (envCount: number): string =>
            `services:\n  - name: api\n    port: 8080\n    image: r/api\n    env:\n${Array.from({ length: envCount }, (_, i) => `      V${i}: value\n`).join("")}`;
        fs.writeFileSync(path.join(project, "max.yaml"), file(YAML_MAX_VALUES - 7));
        const read = parseSettings({ registryUsername: "ci-bot", emulatorImage: EMULATOR_IMAGE, appFile: "max.yaml" }, { stack: "dev", readFile: (p) => readProjectFile(project, p, APP_FILE_MAX_BYTES) });
        assert.strictEqual(Object.keys(read.app.services[0].env).length, 9993);
        assert.strictEqual(
            errorOfText("over.yaml", file(YAML_MAX_VALUES - 6)),
            `the document in over.yaml (named by prod-mirror:appFile in Pulumi.dev.yaml) is invalid: it holds more than 10000 values once its YAML ` +
                "aliases are expanded (an alias bomb, or far more than a description needs). Write the repeated parts out, or use aliases (*name) only for small parts",
        );
    });

    it("refuses a YAML alias bomb (billion laughs) quickly, naming the limit and the fix", () => {
        const levels = ["a: &a [x, x, x, x, x, x, x, x, x]"];
        for (let i = 1; i < 9; i++) {
            const prev = String.fromCharCode(96 + i);
            const name = String.fromCharCode(97 + i);
            levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(", ")}]`);
        }
        const started = Date.now();
        const message = errorOfText("laughs.yaml", `${levels.join("\n")}\nservices: [*i]\n`);
        assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
        assert.strictEqual(
            message,
            `the document in laughs.yaml (named by prod-mirror:appFile in Pulumi.dev.yaml) is invalid: it holds more than ${YAML_MAX_VALUES} values once its YAML ` +
                "aliases are expanded (an alias bomb, or far more than a description needs). Write the repeated parts out, or use aliases (*name) only for small parts",
        );
        // Small aliases stay allowed.
        fs.writeFileSync(path.join(project, "anchors.yaml"), "services:\n  - {name: api, port: 8080, image: r/api, resources: &small {limits: {memory: 64Mi}}}\n  - {name: web, port: 8081, image: r/web, resources: *small}\n");
        assert.deepStrictEqual(
            parseSettings({ registryUsername: "ci-bot", emulatorImage: EMULATOR_IMAGE, appFile: "anchors.yaml" }, { stack: "dev", readFile: (p) => readProjectFile(project, p, APP_FILE_MAX_BYTES) }).app.services[1].resources,
            { limits: { memory: "64Mi" } },
        );
    });
});
