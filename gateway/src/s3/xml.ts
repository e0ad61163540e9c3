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
  // The deepest S3 request document (a lifecycle rule's Filter/And/Tag/Key) nests six levels. The parser keeps its
  // open elements on a list, not the call stack, and throws on an element with more ancestors than this (33 levels
  // pass); its result is then walked recursively, which this bound keeps shallow.
  maxNestedTags: 32,
  isArray: (name: string) => name === "Part" || name === "Object",
};
const parser = new XMLParser(parserOptions);
/** For documents whose text is data that may begin or end with whitespace (object keys in DeleteObjects). */
const untrimmedParser = new XMLParser({ ...parserOptions, trimValues: false });
/**
 * For documents whose meaning rides on an attribute (an ACL Grantee's xsi:type). Attributes come back as "@name"
 * members with their namespace prefix dropped, since a client may bind the XMLSchema-instance namespace to any prefix.
 */
const attributeParser = new XMLParser({ ...parserOptions, ignoreAttributes: false, attributeNamePrefix: "@", removeNSPrefix: true, parseAttributeValue: false });

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

/** What ends each construct whose content is data, not markup. */
const DATA_SECTION_END: Record<string, string> = { "<!--": "-->", "<![CDATA[": "]]>", "<?": "?>" };

/**
 * Whether the document holds a declaration (`<!DOCTYPE`, `<!ENTITY`, in any case) or a NUL as a character reference
 * (`&#0;`, `&#x00;`...) anywhere but inside a comment, a CDATA section or a processing instruction, where that text
 * is only data. One forward pass: a body of any size is read once.
 */
function declaresOrReferencesNul(text: string): boolean {
  const markup = /<!--|<!\[CDATA\[|<\?|<!|&#(?:0+|x0+);/gi;
  for (let match = markup.exec(text); match !== null; match = markup.exec(text)) {
    const end = DATA_SECTION_END[match[0]];
    if (end === undefined) return true;
    const close = text.indexOf(end, markup.lastIndex);
    if (close === -1) return false; // unterminated: the validator refuses the document
    markup.lastIndex = close + end.length;
  }
  return false;
}

/**
 * Parses a request body; anything not well-formed, or without the expected root element, is MalformedXML, and is
 * refused before anything acts on it. So is:
 * - a document type declaration, or any other declaration: no S3 document has one, and its entities would let a
 *   small body expand into a huge one ("billion laughs") or stand for text the checks before parsing never saw.
 *   The parser cannot refuse one: it can only bound how far entities expand, or leave every entity unexpanded,
 *   `&amp;` included. Hence the check before it;
 * - a NUL, which XML cannot carry even as a character reference (the parser would silently drop it, turning one key
 *   into another);
 * - nesting deeper than maxNestedTags.
 */
export function parseXml(text: string, root: string, options: { trimValues?: boolean; attributes?: boolean } = {}): XmlObject {
  if (text.trim() === "" || text.includes("\u0000") || declaresOrReferencesNul(text)) throw new S3Error("MalformedXML");
  let document: XmlObject;
  try {
    if (XMLValidator.validate(text) !== true) throw new S3Error("MalformedXML");
    const chosen = options.attributes ? attributeParser : options.trimValues === false ? untrimmedParser : parser;
    document = chosen.parse(text) as XmlObject;
  } catch {
    // Whatever the parser throws on (nesting past maxNestedTags, a construct the validator let through) is about
    // the input alone: the client's document is at fault.
    throw new S3Error("MalformedXML");
  }
  const element = document[root];
  if (element === undefined) throw new S3Error("MalformedXML");
  return element === "" ? {} : (element as XmlObject);
}

export function iso8601(date: Date): string {
  return date.toISOString();
}
