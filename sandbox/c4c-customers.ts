/**
 * The C4C stand-in's customers as a person looks at them: the columns the CLI's table
 * and the chat page's C4C panel show, and how either finds the customer meant.
 */
export type Customer = Record<string, unknown>;

export const CUSTOMER_COLUMNS: ReadonlyArray<readonly [string, (c: Customer) => unknown]> = [
  ['ObjectID', (c) => c.ObjectID],
  ['CustomerID', (c) => c.CustomerID],
  ['Name', (c) => [c.FirstName, c.LastName].filter(Boolean).join(' ')],
  ['WechatID', (c) => c.WechatID],
  ['WechatStatus', (c) => c.WechatStatus],
];

/** A cell as shown: the value as text, a dash when there is none. */
export function cellText(value: unknown): string {
  return value === undefined || value === null || value === '' ? '—' : String(value);
}

/** The customer's row: each column's cell. */
export function customerRow(customer: Customer): Record<string, string> {
  return Object.fromEntries(CUSTOMER_COLUMNS.map(([name, cell]) => [name, cellText(cell(customer))]));
}

/** The customer `ref` names: its ObjectID, CustomerID or WechatID. */
export function findCustomer(customers: Customer[], ref: string): Customer | undefined {
  return customers.find((c) => [c.ObjectID, c.CustomerID, c.WechatID].includes(ref));
}
