import assert from "node:assert/strict";
import { Container, token } from "../../../shared/di/container.ts";

const A = token<{ n: number }>("a");
const B = token<string>("b");

Deno.test("singletons are created once, lazily, with their dependencies", async () => {
  let created = 0;
  const container = new Container()
    .register(A, () => ({ n: ++created }))
    .register(B, async (c) => `b:${(await c.get(A)).n}`);
  assert.equal(created, 0);
  const [a1, a2, b] = await Promise.all([container.get(A), container.get(A), container.get(B)]);
  assert.equal(a1, a2);
  assert.equal(created, 1);
  assert.equal(b, "b:1");
});

Deno.test("dispose runs in reverse creation order and only for created services", async () => {
  const order: string[] = [];
  const C = token<string>("c");
  const container = new Container()
    .register(A, () => ({ n: 1 }), () => void order.push("a"))
    .register(B, async (c) => (await c.get(A), "b"), () => void order.push("b"))
    .register(C, () => "c", () => void order.push("c"));
  await container.get(B);
  await container.dispose();
  assert.deepEqual(order, ["b", "a"]);
  await assert.rejects(() => container.get(A), /disposed/);
});

Deno.test("a failed factory is retried on the next get and unknown tokens are explicit", async () => {
  let attempts = 0;
  const container = new Container().register(A, () => {
    if (++attempts === 1) throw new Error("transient");
    return { n: attempts };
  });
  await assert.rejects(() => container.get(A), /transient/);
  assert.deepEqual(await container.get(A), { n: 2 });
  await assert.rejects(() => container.get(B), /nothing is registered for b/);
  assert.throws(() => container.register(A, () => ({ n: 0 })), /already in use/);
});
