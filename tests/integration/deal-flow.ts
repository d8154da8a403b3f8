// The e2e test a team would run over its mirror: one request through the gateway walks the whole
// flow (API -> DynamoDB -> SQS -> worker -> S3) and the receipt proves every hop.
import * as assert from "assert";
import { eventually, requestJson } from "./cluster";

export async function walkDealFlow(gatewayUrl: string, title: string): Promise<{ id: string }> {
    const created = await requestJson("POST", `${gatewayUrl}/api/deals`, { title, price: 42 });
    assert.strictEqual(created.status, 201, `POST /api/deals answered ${created.status}: ${JSON.stringify(created.body)}`);
    const id = String(created.body.id);

    const stored = await requestJson("GET", `${gatewayUrl}/api/deals/${id}`);
    assert.strictEqual(stored.status, 200, `the deal did not reach DynamoDB: ${JSON.stringify(stored.body)}`);
    assert.deepStrictEqual(stored.body, { id, title, price: "42" });

    // The worker polls SQS; the receipt appears in S3 once it has consumed the event.
    const receipt = await eventually(`the receipt of deal ${id}`, 60_000, async () => {
        const reply = await requestJson("GET", `${gatewayUrl}/receipts/${id}`);
        return reply.status === 200 ? reply.body : undefined;
    });
    assert.strictEqual(receipt.dealId, id);
    assert.strictEqual(receipt.title, title);
    assert.strictEqual(receipt.price, "42");
    assert.ok(!Number.isNaN(Date.parse(receipt.processedAt)), `processedAt is not a timestamp: ${receipt.processedAt}`);
    return { id };
}
