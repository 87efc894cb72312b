import {test} from 'node:test'
import assert from 'node:assert/strict'
import {TokenBucket} from '../../src/core/token-bucket.js'
import {TokenBuckets} from '../../src/server/rate-limit.js'

test('a bucket refills at its rate up to its burst, on the injected clock', () => {
  let now = 0
  const bucket = new TokenBucket(10, 2, () => now)
  assert.deepEqual([bucket.take(), bucket.take(), bucket.take()], [true, true, false])
  assert.equal(bucket.wait(), 0.1, 'one token comes back after 1/rate seconds')
  now = 50
  assert.equal(bucket.wait(), 0.05)
  now = 100
  assert.deepEqual([bucket.take(), bucket.take()], [true, false])
  assert.equal(bucket.full, false)
  now = 10_000
  assert.equal(bucket.full, true)
  assert.deepEqual([bucket.take(), bucket.take(), bucket.take()], [true, true, false])
})

test('an infinite rate never limits', () => {
  const bucket = new TokenBucket(Infinity, 1, () => 0)
  for (let i = 0; i < 1000; i++) assert.equal(bucket.take(), true)
})

test('a bucket refuses NaN, zero or negative rates and a burst under one, with ERR_INVALID_ARGUMENT', () => {
  for (const [rate, burst] of [[NaN, 1], [0, 1], [-1, 1], [1, NaN], [1, 0.5]]) {
    assert.throws(() => new TokenBucket(rate, burst, () => 0), {code: 'ERR_INVALID_ARGUMENT'}, `rate ${rate}, burst ${burst}`)
  }
})

test("the hub's per-client buckets are the shared bucket, keyed by client", () => {
  let now = 0
  const buckets = new TokenBuckets({rate: 10, burst: 2, now: () => now})
  try {
    assert.deepEqual([buckets.take('a'), buckets.take('a')], [0, 0])
    assert.equal(buckets.take('a'), 0.1, 'Retry-After in seconds, from the same math as the bucket')
    assert.equal(buckets.take('b'), 0, 'another client has its own bucket')
    now = 200
    buckets.sweep()
    assert.equal(buckets.size, 0, 'refilled buckets are dropped')
    assert.equal(buckets.sweeping, false)
  } finally {
    buckets.clear()
  }
  assert.throws(() => new TokenBuckets({rate: NaN, burst: 1}), {code: 'ERR_INVALID_ARGUMENT'})
})
