import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openDb } from '../../src/store/db.js';
import { migrationSets } from '../../src/daemon.js';
import { TagNameRepository, type OwnerTag } from '../../src/store/billing/tag-names.js';
import { parseTagsCsv, tagsToCsv } from '../../src/panel/tag-list.js';
import { parseCsv, toCsv } from '../../src/util/csv.js';
import { OwnerTagsAuthorizer } from '../../src/panel/owner-tags.js';
import { tempDir } from '../support/station.js';

const TRICKY: OwnerTag[] = [
  { name: 'Müller, Jürgen', idTag: '04A1B2C3', expiryWallMs: null, parentIdTag: null, enabled: true },
  { name: 'The "company" car', idTag: 'CAR-2', expiryWallMs: Date.UTC(2027, 0, 31, 23, 59, 59), parentIdTag: 'FLEET', enabled: true },
  { name: '=HYPERLINK("x")', idTag: '+49123', expiryWallMs: null, parentIdTag: '-1', enabled: false },
  { name: "'=already escaped", idTag: '@home', expiryWallMs: null, parentIdTag: null, enabled: true },
  { name: 'Zoë 🚗 电动车\nsecond line', idTag: 'ZOE', expiryWallMs: null, parentIdTag: 'FLEET', enabled: true },
  { name: "O'Brien", idTag: 'ob', expiryWallMs: null, parentIdTag: null, enabled: true },
];

async function repo() {
  const db = openDb(join(tempDir(), 'evsed.db'), await migrationSets());
  return { db, tags: new TagNameRepository(db) };
}

describe('tag list CSV', () => {
  it('round-trips tricky names (commas, quotes, formulas, apostrophes, line breaks, non-ASCII) through export and import', () => {
    const csv = tagsToCsv(TRICKY);
    expect(csv.split('\r\n')[0]).toBe('name,idTag,expiry,parent,enabled');
    expect(csv).toContain('"Müller, Jürgen"');
    expect(csv).toContain('"The ""company"" car"');
    // formulas are neutralised for spreadsheets
    expect(csv).toContain(`"'=HYPERLINK(""x"")",'+49123,,'-1,false`);
    expect(csv).toContain('2027-01-31T23:59:59Z');
    expect(parseTagsCsv(csv)).toEqual(TRICKY);
    expect(tagsToCsv(parseTagsCsv(csv))).toBe(csv);
  });

  it('reads a spreadsheet\'s export: BOM, LF line ends, columns in another order, no enabled column, date-only expiry', () => {
    const text = '\uFEFFidTag,name,parent,expiry\nAA11,"Anna, B",,2027-03-01\nBB22,Bob,AA11,\n';
    expect(parseTagsCsv(text)).toEqual([
      { idTag: 'AA11', name: 'Anna, B', parentIdTag: null, expiryWallMs: Date.UTC(2027, 2, 1), enabled: true },
      { idTag: 'BB22', name: 'Bob', parentIdTag: 'AA11', expiryWallMs: null, enabled: true },
    ]);
  });

  it('names every bad record, and the header\'s problems', () => {
    expect(() => parseTagsCsv('name,idTag,colour\n')).toThrow(/line 1: unknown column "colour"/);
    expect(() => parseTagsCsv('name\nx\n')).toThrow(/line 1: the column idTag is missing/);
    let msg = '';
    try {
      parseTagsCsv('name,idTag,expiry,enabled\n,A1,,\nB,,,\nC,C1,tomorrow,\nD,D1,,yes\nE,e1,,\nF,E1,,\nG,123456789012345678901,,\nH,H1\n');
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg.split('\n')).toEqual([
      'record 2 (A1): name is empty: every tag of the list needs a name',
      'record 3: idTag must be 1 to 20 characters (OCPP IdToken)',
      expect.stringMatching(/^record 4 \(C1\): expiry: not a date/),
      'record 5 (D1): enabled must be true or false (got "yes")',
      'record 7 (E1): the tag is listed twice (also as e1; tags match without regard to case)',
      'record 8 (123456789012345678901): idTag must be 1 to 20 characters (OCPP IdToken)',
      'record 9: 2 fields, the header has 4',
    ]);
    expect(() => parseCsv('a,"b\n')).toThrow(/not closed/);
    expect(() => parseCsv('a,b"c\n')).toThrow(/quote inside an unquoted field/);
  });

  it('the generic writer and reader agree on every text', () => {
    const rows = [['', ' ', '"', '""', ',', '\r\n', "'", "''=", '=', '-5', 'plain', 'tab\there']];
    expect(parseCsv(toCsv(rows))).toEqual(rows);
  });

  it('stored: replacing the list keeps names of tags that left it; the round trip through the store is exact', async () => {
    const { db, tags } = await repo();
    tags.set('OLD', 'Old card');
    tags.put({ idTag: 'GONE', name: 'Left the list', expiryWallMs: null, parentIdTag: null, enabled: true });
    tags.replaceList(parseTagsCsv(tagsToCsv(TRICKY)));
    expect(tagsToCsv(tags.list())).toBe(tagsToCsv([...TRICKY].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))));
    expect(tags.get('gone')).toMatchObject({ name: 'Left the list', inList: false });
    expect(tags.get('old')).toMatchObject({ name: 'Old card', inList: false });
    expect(tags.get('car-2')).toMatchObject({ idTag: 'CAR-2', inList: true, parentIdTag: 'FLEET' });
    db.close();
  });
});

describe('the owner list authorises in auth mode local', () => {
  it('config tags first, then the list: enabled, blocked, expired, unknown, named only; the parent of a session\'s tag', async () => {
    const { db, tags } = await repo();
    let now = Date.UTC(2027, 0, 1);
    tags.replaceList(TRICKY);
    tags.set('NAMED', 'only a name');
    tags.put({ idTag: 'CFG-OFF', name: 'listed, but the config disables it', expiryWallMs: null, parentIdTag: null, enabled: true });
    const sessionTags = new Map<number, string>([[7, 'zoe']]);
    const a = new OwnerTagsAuthorizer({
      configTags: [{ idTag: 'cfg-off', enabled: false }, { idTag: 'CFG-ON', enabled: true }],
      lookup: (t) => tags.get(t),
      sessionTag: (id) => sessionTags.get(id),
      wallMs: () => now,
    });
    expect(await a.authorize('CFG-ON')).toEqual({ status: 'Accepted', source: 'local' });
    expect(await a.authorize('CFG-OFF')).toEqual({ status: 'Blocked', source: 'local' });
    expect(await a.authorize('04a1b2c3')).toEqual({ status: 'Accepted', source: 'local' });
    expect(await a.authorize('+49123')).toEqual({ status: 'Blocked', source: 'local', parentIdTag: '-1' });
    expect(await a.authorize('CAR-2')).toEqual({ status: 'Accepted', source: 'local', parentIdTag: 'FLEET' });
    now = Date.UTC(2027, 1, 1);
    expect(await a.authorize('CAR-2')).toEqual({ status: 'Expired', source: 'local', parentIdTag: 'FLEET' });
    expect(await a.authorize('NAMED')).toEqual({ status: 'Invalid', source: 'local' });
    expect(await a.authorize('NOBODY')).toEqual({ status: 'Invalid', source: 'local' });
    expect(a.parentIdTagOf(7)).toBe('FLEET');
    expect(a.parentIdTagOf(8)).toBeUndefined();
    db.close();
  });
});
