// Loaded by .mocharc.integration.json and .mocharc.local.json before any suite: the tests share the
// local environment's cluster, registry and emulator with a person's own mirrors, but never their
// mirrors' state. Every CLI run and workspace of the suites (they inherit this environment) keeps its backend,
// run locks, port-forwards and PULUMI_HOME in a directory of this run, and labels and tags what it
// makes with an installation of this run, so a person's `ls` and `reap` never see the tests' mirrors
// and the tests can never lock, destroy or reap a person's.
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

if (process.env.PROD_MIRROR_MIRRORS_DIR === undefined) {
    const run = `${Date.now().toString(36)}${crypto.randomBytes(2).toString("hex")}`;
    // Kept after the run (not removed on exit): a stack a failed test left behind stays inspectable
    // and destroyable with PROD_MIRROR_MIRRORS_DIR=<this dir> npx prod-mirror down --branch ...
    process.env.PROD_MIRROR_MIRRORS_DIR = fs.mkdtempSync(path.join(os.tmpdir(), `prod-mirror-tests-${run}-`));
    process.env.PROD_MIRROR_INSTALLATION = `test-${run}`;
    process.stderr.write(`tests keep their mirrors in ${process.env.PROD_MIRROR_MIRRORS_DIR} (installation ${process.env.PROD_MIRROR_INSTALLATION})\n`);
}
