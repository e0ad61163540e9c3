import assert from "node:assert/strict";
import { S3Error } from "./errors.js";
import { parseXml, renderXml, renderXmlInOrder } from "./xml.js";

const malformed = (error: unknown) => error instanceof S3Error && error.code === "MalformedXML" && error.status === 400;

describe("xml", () => {
  it("parses a document with character references and keeps keys exact", () => {
    const parsed = parseXml('<Delete><Object><Key> a&amp;b&#x263A;&#9731; </Key></Object></Delete>', "Delete", { trimValues: false });
    assert.deepEqual(parsed, { Object: [{ Key: " a&b☺☃ " }] });
  });

  it("refuses any document type or other declaration, in any case or spacing, so entities never expand", () => {
    const laughs = [
      '<?xml version="1.0"?>',
      '<!DOCTYPE Delete [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>',
      "<Delete><Object><Key>&c;</Key></Object></Delete>",
    ].join("");
    const declaring = [
      laughs,
      '<!DOCTYPE Delete SYSTEM "file:///etc/passwd"><Delete/>',
      "<!doctype CORSConfiguration><CORSConfiguration/>",
      '<!-- a comment first -->\n  <!DocType\tDelete [ <!ENTITY  k "x"> ]>\n<Delete/>',
      // Outside a document type declaration an entity declaration is not well-formed; the validator alone lets it by.
      '<Delete><!ENTITY k "x"><Object><Key>k</Key></Object></Delete>',
      "< !DOCTYPE Delete><Delete/>",
    ];
    for (const text of declaring) assert.throws(() => parseXml(text, text.includes("CORS") ? "CORSConfiguration" : "Delete"), malformed, text);
  });

  it("takes declaration-like text and NUL references inside comments, CDATA and processing instructions as data", () => {
    const text = '<?xml version="1.0"?><?note <!ENTITY ?><!-- <!DOCTYPE x> &#0; --><Delete><Object><Key><![CDATA[<!DOCTYPE &#0;]]></Key></Object></Delete>';
    assert.deepEqual(parseXml(text, "Delete", { trimValues: false }), { Object: [{ Key: "<!DOCTYPE &#0;" }] });
  });

  it("refuses nesting deeper than any S3 document, without running out of stack, and takes the deepest one", () => {
    const nested = (depth: number) => `${"<a>".repeat(depth)}${"</a>".repeat(depth)}`;
    for (const depth of [34, 200_000]) assert.throws(() => parseXml(nested(depth), "a"), malformed, `depth ${depth}`);
    assert.deepEqual(parseXml(nested(33), "a"), { a: { a: { a: parseXml(nested(30), "a") } } });
    const lifecycle = "<LifecycleConfiguration><Rule><Filter><And><Tag><Key>k</Key></Tag></And></Filter></Rule></LifecycleConfiguration>";
    assert.deepEqual(parseXml(lifecycle, "LifecycleConfiguration"), { Rule: { Filter: { And: { Tag: { Key: "k" } } } } });
  });

  it("refuses a NUL, raw or as a character reference, which XML cannot carry", () => {
    for (const key of ["a&#0;b", "a&#x0;b", "a&#X0000;b", "a&#000;b", "a\u0000b", "<![CDATA[a\u0000b]]>"]) {
      assert.throws(() => parseXml(`<Delete><Object><Key>${key}</Key></Object></Delete>`, "Delete"), malformed, JSON.stringify(key));
    }
    assert.deepEqual(parseXml("<Delete><Object><Key>a&#10;&#x30;&#100;</Key></Object></Delete>", "Delete", { trimValues: false }), { Object: [{ Key: "a\n0d" }] });
  });

  it("renders elements in the given order, siblings of different names interleaved, as renderXml renders the rest", () => {
    const body = { Name: "b&<", Version: [{ Key: "a", Size: 0 }, { Key: "c" }], Empty: {}, Absent: undefined };
    assert.equal(renderXmlInOrder("R", Object.entries(body)), renderXml("R", body));
    assert.match(
      renderXmlInOrder("R", [["Version", { Key: "1" }], ["DeleteMarker", { Key: "2" }], ["Version", { Key: "3" }]]),
      /<R xmlns="[^"]+"><Version><Key>1<\/Key><\/Version><DeleteMarker><Key>2<\/Key><\/DeleteMarker><Version><Key>3<\/Key><\/Version><\/R>$/,
    );
  });
});
