// What the server put in the page: chain, contracts, regions, tile server, language and the JS messages.
const node = document.getElementById("coopride-config");

/** @type {{chainId:number, local:boolean, tileUrl:string|null, tileAttribution:string, regions:Array,
 *          contracts:Record<string,string>, token:{symbol:string, decimals:number}|null, lang:string,
 *          messages:Record<string,string>, page:string}} */
export const config = JSON.parse(node.textContent);

export function contractName(address) {
  const wanted = String(address).toLowerCase();
  for (const [name, value] of Object.entries(config.contracts)) {
    if (value.toLowerCase() === wanted) return name;
  }
  return null;
}

export function regionName(regionId) {
  const region = config.regions.find((r) => r.id === Number(regionId));
  return region ? region.name : `#${regionId}`;
}
