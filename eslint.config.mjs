// Flat config: typescript-eslint's type-aware recommended rules plus @pulumi/eslint-plugin,
// whose rules need type information to tell an Output inside a template literal.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import pulumi from "@pulumi/eslint-plugin";

export default tseslint.config(
    { ignores: ["node_modules/", "dist/", "local/", "app/", "**/*.js", "**/*.mjs"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        files: ["**/*.ts"],
        languageOptions: {
            parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
        },
        plugins: { "@pulumi": pulumi },
        rules: {
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
            "@typescript-eslint/no-floating-promises": "error",
            // `??` over `||` for defaults (STYLE rule 5); `if (!cached) cached = ...` on an object is fine.
            "@typescript-eslint/prefer-nullish-coalescing": ["error", { ignoreIfStatements: true }],
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
            eqeqeq: ["error", "always"],
        },
    },
    {
        // Tests walk deep into registered inputs (spec.template.spec.containers[0]...); typing every
        // path would add noise, not safety.
        files: ["tests/**/*.ts"],
        rules: { "@typescript-eslint/no-explicit-any": "off" },
    },
);
