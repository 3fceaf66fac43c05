import { strict as assert } from 'node:assert';
import { main } from '../../sandbox/cli';
import { Sandbox, startSandbox } from '../../sandbox/index';

describe('sandbox CLI: C4C commands', () => {
  let sandbox: Sandbox;
  let printed: string[];
  const print = (line: string) => printed.push(line);

  beforeEach(async () => {
    sandbox = await startSandbox();
    printed = [];
  });
  afterEach(() => sandbox.close());

  it('lists customers with their WechatID', async () => {
    const customer = sandbox.c4c.createCustomer({ FirstName: 'Mei', LastName: 'Wang', RoleCode: 'CRM000', WechatID: 'oOpenId1' }, undefined, false);
    assert.equal(await main(['customers', '--sandbox', sandbox.baseUrl], print), 0);
    assert.equal(printed.length, 1);
    assert.match(printed[0], new RegExp(`^${String(customer.ObjectID)} .*Mei Wang .*WechatID=oOpenId1$`));
  });

  it('changes a customer, which C4C then reports to its consumer', async () => {
    const customer = sandbox.c4c.createCustomer({ FirstName: 'Mei', LastName: 'Wang', RoleCode: 'CRM000' }, undefined, false);
    const id = String(customer.ObjectID);
    assert.equal(await main(['change', id, '--set', 'FirstName=Anna', '--sandbox', sandbox.baseUrl], print), 0);
    assert.equal(sandbox.c4c.getCustomer(id)?.FirstName, 'Anna');
    assert.match(printed[0], /^changed .*"FirstName":"Anna"/);
  });

  it('refuses a change without fields or with a malformed one', async () => {
    assert.equal(await main(['change', 'X1', '--sandbox', sandbox.baseUrl], print), 2);
    assert.match(printed[0], /at least one --set/);
    assert.equal(await main(['change', 'X1', '--set', 'novalue', '--sandbox', sandbox.baseUrl], print), 2);
    assert.match(printed[1], /--set takes Field=Value/);
  });

  it('reports an unknown customer as the sandbox does', async () => {
    assert.equal(await main(['change', 'NOPE', '--set', 'FirstName=A', '--sandbox', sandbox.baseUrl], print), 2);
    assert.match(printed[0], /the sandbox answered 404/);
  });
});
