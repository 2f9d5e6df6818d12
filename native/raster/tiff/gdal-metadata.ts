/**
 * GDAL's metadata tag (TIFF tag 42112): a small XML document of <Item> elements. Dataset items have only a
 * name; band items add sample="<0-based band>"; band descriptions use role="description". GDAL itself and
 * QGIS read band names and provenance from here.
 *
 * GDAL escapes item values twice (once itself, once when serialising the XML) and unescapes them twice when
 * reading; we do the same, or "a & b" written by one side would come back as "a " on the other.
 */

export interface GdalMetadataItem {
  name: string;
  value: string;
  /** 0-based band the item belongs to; absent for dataset-level items. */
  sample?: number;
  role?: string;
  /** Metadata domain (GDAL's default domain when absent). */
  domain?: string;
}

const ITEM = /<Item\b([^>]*?)(?:\/>|>([\s\S]*?)<\/Item>)/g;
const ATTRIBUTE = /([A-Za-z_][\w.-]*)\s*=\s*"([^"]*)"/g;

export function parseGdalMetadata(xml: string): GdalMetadataItem[] {
  const items: GdalMetadataItem[] = [];
  for (const [, attributeText, inner] of xml.matchAll(ITEM)) {
    const attributes = new Map<string, string>();
    for (const [, key, value] of attributeText.matchAll(ATTRIBUTE)) attributes.set(key, unescapeXml(value));
    const name = attributes.get('name');
    if (name === undefined) continue;
    const item: GdalMetadataItem = { name, value: unescapeXml(unescapeXml(inner ?? '')) };
    const sample = attributes.get('sample');
    if (sample !== undefined) item.sample = Number(sample);
    const role = attributes.get('role');
    if (role !== undefined) item.role = role;
    const domain = attributes.get('domain');
    if (domain !== undefined) item.domain = domain;
    items.push(item);
  }
  return items;
}

/** Band descriptions, one per band (null where a band has none). */
export function bandDescriptions(items: GdalMetadataItem[], bandCount: number): (string | null)[] {
  const names: (string | null)[] = new Array<string | null>(bandCount).fill(null);
  for (const item of items) {
    if (item.role === 'description' && item.sample !== undefined && item.sample >= 0 && item.sample < bandCount) {
      names[item.sample] = item.value;
    }
  }
  return names;
}

/** Dataset-level items of the default domain, as name → value. */
export function datasetMetadata(items: GdalMetadataItem[]): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const item of items) {
    if (item.sample === undefined && item.role === undefined && item.domain === undefined) metadata[item.name] = item.value;
  }
  return metadata;
}

/** The XML for dataset items plus one role="description" item per named band. */
export function buildGdalMetadata(metadata: Record<string, string>, bandNames: readonly (string | null)[]): string {
  const lines = ['<GDALMetadata>'];
  for (const [name, value] of Object.entries(metadata)) {
    lines.push(`  <Item name="${escapeXml(name)}">${escapeXml(escapeXml(value))}</Item>`);
  }
  bandNames.forEach((bandName, band) => {
    if (bandName !== null && bandName !== '') {
      lines.push(`  <Item name="DESCRIPTION" sample="${band}" role="description">${escapeXml(escapeXml(bandName))}</Item>`);
    }
  });
  lines.push('</GDALMetadata>');
  return lines.join('\n');
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)))
    .replace(/&#x([0-9a-fA-F]+);/g, (_, code: string) => String.fromCodePoint(parseInt(code, 16)))
    .replace(/&amp;/g, '&');
}
