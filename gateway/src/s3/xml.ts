// The only place XML is produced or parsed. Element names are exactly those of the AWS S3 API reference.
import { XMLBuilder, XMLParser, XMLValidator } from "fast-xml-parser";
import { S3Error } from "./errors.js";

export const S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/";

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: "@", suppressEmptyNode: false });
const parserOptions = {
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  htmlEntities: true,
  isArray: (name: string) => name === "Part" || name === "Object",
};
const parser = new XMLParser(parserOptions);
/** For documents whose text is data that may begin or end with whitespace (object keys in DeleteObjects). */
const untrimmedParser = new XMLParser({ ...parserOptions, trimValues: false });

export type XmlValue = string | number | boolean | XmlObject | XmlValue[] | undefined;
export interface XmlObject {
  [element: string]: XmlValue;
}

/** Drops undefined members so optional elements are simply absent. */
function prune(value: XmlValue): XmlValue {
  if (Array.isArray(value)) return value.map(prune);
  if (value && typeof value === "object") {
    const out: XmlObject = {};
    for (const [name, member] of Object.entries(value)) if (member !== undefined) out[name] = prune(member);
    return out;
  }
  return value;
}

export function renderXml(root: string, body: XmlObject, namespace: string | null = S3_NAMESPACE): string {
  const element = namespace ? { "@xmlns": namespace, ...body } : body;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ [root]: prune(element) })}`;
}

/**
 * Like renderXml, for a root whose children must come in the given order even where elements of different names
 * alternate (ListVersionsResult interleaves Version and DeleteMarker entries in listing order): renderXml's object
 * form can only group each name's elements together.
 */
export function renderXmlInOrder(root: string, children: ReadonlyArray<readonly [string, XmlValue]>, namespace: string = S3_NAMESPACE): string {
  const ordered = children.filter(([, value]) => value !== undefined).flatMap(([name, value]) => orderedElements(name, value));
  return `<?xml version="1.0" encoding="UTF-8"?>\n${orderedBuilder.build([{ [root]: ordered, ":@": { "@xmlns": namespace } }])}`;
}

const orderedBuilder = new XMLBuilder({ preserveOrder: true, ignoreAttributes: false, attributeNamePrefix: "@", suppressEmptyNode: false });

/** One element (several for an array) in fast-xml-parser's ordered form: `{ name: [children] }`. */
function orderedElements(name: string, value: XmlValue): object[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) return value.flatMap((item) => orderedElements(name, item));
  if (typeof value === "object") {
    return [{ [name]: Object.entries(value).flatMap(([childName, child]) => orderedElements(childName, child)) }];
  }
  return [{ [name]: [{ "#text": String(value) }] }];
}

/** A NUL character, raw or as a character reference (&#0;, &#x00;...). */
const NUL = /\u0000|&#(?:0+|x0+);/i;

/**
 * Parses a request body; anything not well-formed, or without the expected root element, is MalformedXML. So is a
 * document type declaration: no S3 document has one, and its entities would let a small body expand into a huge one
 * ("billion laughs") or stand for text the checks before parsing never saw. A NUL, which XML cannot carry even as
 * a character reference, is refused too (the parser would silently drop it, turning one key into another), as is
 * nesting deeper than the parser takes.
 */
export function parseXml(text: string, root: string, options: { trimValues?: boolean } = {}): XmlObject {
  if (text.trim() === "" || /<!DOCTYPE|<!ENTITY/i.test(text) || NUL.test(text)) throw new S3Error("MalformedXML");
  let document: XmlObject;
  try {
    if (XMLValidator.validate(text) !== true) throw new S3Error("MalformedXML");
    document = (options.trimValues === false ? untrimmedParser : parser).parse(text) as XmlObject;
  } catch {
    // Whatever the validator or the parser refuses (their own nesting limit, or a RangeError where their recursion runs
    // out of stack) is a document the client got wrong: the input is all they read.
    throw new S3Error("MalformedXML");
  }
  const element = document[root];
  if (element === undefined) throw new S3Error("MalformedXML");
  return element === "" ? {} : (element as XmlObject);
}

export function iso8601(date: Date): string {
  return date.toISOString();
}
