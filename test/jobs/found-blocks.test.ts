import t from 'tap'
import { appendFile, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { FoundBlockStore } from '../../src/jobs/found-blocks.js'

const block = (hash: string, foundAt: number) => ({
  hash,
  height: 112,
  hex: '00',
  account: 'acct',
  worker: 'rig1',
  foundAt,
  source: 'bitcoind',
  reward: '5000014740',
})

t.test('blocks are on disk before submission and survive a restart', async (t) => {
  const path = join(t.testdir({}), 'data', 'found-blocks.jsonl')
  const store = await FoundBlockStore.open(path)
  await store.add(block('aa', 1), 1)
  await store.add(block('bb', 2), 2)
  await store.update('aa', { status: 'accepted', result: null }, 3)
  await t.rejects(store.update('cc', { status: 'accepted' }, 4), /no found block cc/)
  await store.close()
  await t.rejects(store.add(block('dd', 5), 5), /closed/)

  // A torn last line (power loss mid-write) is skipped, not fatal.
  await appendFile(path, '{"hash":"bb","status":"acc')
  const again = await FoundBlockStore.open(path)
  t.teardown(() => again.close())
  t.equal(again.skippedLines, 1)
  t.same(again.list().map((b) => b.hash), ['bb', 'aa'], 'newest first')
  t.equal(again.get('aa')?.status, 'accepted')
  t.equal(again.get('aa')?.result, null)
  t.equal(again.get('aa')?.reward, '5000014740', 'fields of the first line kept')
  t.same(again.pending().map((b) => b.hash), ['bb'], 'still to submit')
  await again.update('bb', { status: 'rejected', result: 'high-hash' }, 6)
  const third = await FoundBlockStore.open(path)
  t.teardown(() => third.close())
  t.equal(third.get('bb')?.status, 'rejected', 'a record after a torn line is read back')
  t.equal(third.skippedLines, 1)
  const lines = (await readFile(path, 'utf8')).trimEnd().split('\n')
  t.equal(lines.length, 5, 'append-only: 4 records and the torn line')
})
