import assert from "node:assert/strict";
import { S3Error } from "./errors.js";
import { parseXml, renderXml, renderXmlInOrder } from "./xml.js";

const malformed = (error: unknown) => error instanceof S3Error && error.code === "MalformedXML" && error.status === 400;

describe("xml", () => {
  it("parses a document with character references and keeps keys exact", () => {
    const parsed = parseXml('<Delete><Object><Key> a&amp;b&#x263A;&#9731; </Key></Object></Delete>', "Delete", { trimValues: false });
    assert.deepEqual(parsed, { Object: [{ Key: " a&b☺☃ " }] });
  });

  it("refuses any document type declaration, so entities never expand", () => {
    const laughs = [
      '<?xml version="1.0"?>',
      '<!DOCTYPE Delete [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>',
      "<Delete><Object><Key>&c;</Key></Object></Delete>",
    ].join("");
    assert.throws(() => parseXml(laughs, "Delete"), malformed);
    assert.throws(() => parseXml('<!DOCTYPE Delete SYSTEM "file:///etc/passwd"><Delete/>', "Delete"), malformed);
    assert.throws(() => parseXml('<!doctype CORSConfiguration><CORSConfiguration/>', "CORSConfiguration"), malformed);
  });

  it("refuses nesting too deep for the parser, and a NUL even as a character reference", () => {
    const depth = 200_000;
    assert.throws(() => parseXml(`${"<a>".repeat(depth)}${"</a>".repeat(depth)}`, "a"), malformed);
    assert.throws(() => parseXml("<Delete><Object><Key>a&#0;b</Key></Object></Delete>", "Delete"), malformed);
    assert.throws(() => parseXml("<Delete><Object><Key>a&#x0;b</Key></Object></Delete>", "Delete"), malformed);
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
