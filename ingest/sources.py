"""What kind of source a URL is, when the data does not say.

The rule, first match wins (the README's "Sources" lists it too):

1. ``filing``: a regulator's filing system (the SEC's EDGAR and the like; see
   :data:`FILING_HOSTS`);
2. ``company``: a party's own site (a host whose registrable name, e.g.
   ``nvidia`` in ``nvidianews.nvidia.com``, is a party's id, name or alias
   with everything but letters and digits taken out), or a press-release
   wire that carries the company's own text (:data:`WIRE_HOSTS`);
3. ``news``: an established outlet (:data:`NEWS_HOSTS`);
4. ``aggregator``: a site that collects or rewrites others' reporting
   (:data:`AGGREGATOR_HOSTS`);
5. ``other``: everything else; ``circfin audit`` counts these with the
   aggregators as weak sources.

A ``kind`` given in a sources table always wins over the rule.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Container, Iterable
from urllib.parse import urlsplit

__all__ = ["AGGREGATOR_HOSTS", "FILING_HOSTS", "NEWS_HOSTS", "WIRE_HOSTS", "classify_source",
           "classify_source_tokens", "host_of", "name_token"]

FILING_HOSTS = frozenset({
    "sec.gov", "fca.org.uk", "find-and-update.company-information.service.gov.uk",
    "companieshouse.gov.uk", "esma.europa.eu", "federalreserve.gov", "fdic.gov", "occ.gov",
    "ffiec.gov", "bundesanzeiger.de", "unternehmensregister.de", "edinet-fsa.go.jp",
    "disclosure.edinet-fsa.go.jp", "hkexnews.hk", "sedarplus.ca", "sedar.com", "dart.fss.or.kr",
    "amf-france.org", "consob.it", "cnmv.es", "asic.gov.au", "sgx.com", "bseindia.com",
    "nseindia.com", "cninfo.com.cn", "twse.com.tw", "mops.twse.com.tw", "finra.org",
    "fincen.gov", "treasury.gov", "federalregister.gov", "ecb.europa.eu",
})
WIRE_HOSTS = frozenset({
    "prnewswire.com", "businesswire.com", "globenewswire.com", "accesswire.com",
    "newswire.ca", "einpresswire.com", "prweb.com",
})
NEWS_HOSTS = frozenset({
    "reuters.com", "bloomberg.com", "ft.com", "wsj.com", "nytimes.com", "washingtonpost.com",
    "cnbc.com", "apnews.com", "economist.com", "theinformation.com", "axios.com",
    "semafor.com", "fortune.com", "businessinsider.com", "barrons.com", "marketwatch.com",
    "nikkei.com", "asia.nikkei.com", "handelsblatt.com", "lesechos.fr", "scmp.com",
    "caixinglobal.com", "theguardian.com", "bbc.com", "bbc.co.uk", "cnn.com", "forbes.com",
    "techcrunch.com", "theverge.com", "wired.com", "arstechnica.com", "theregister.com",
    "datacenterdynamics.com", "datacenterknowledge.com", "zdnet.com", "tomshardware.com",
    "anandtech.com", "venturebeat.com", "siliconangle.com", "nextplatform.com",
    "thestreet.com", "investors.com", "morningstar.com", "spglobal.com",
    "moodys.com", "fitchratings.com", "americanbanker.com", "risk.net", "institutionalinvestor.com",
    "privateequityinternational.com", "privatedebtinvestor.com", "pionline.com",
    "channelnewsasia.com", "businesstimes.com.sg", "straitstimes.com", "hindustantimes.com",
    "business-standard.com", "livemint.com", "economictimes.indiatimes.com",
    "koreaherald.com", "koreatimes.co.kr", "japantimes.co.jp", "afr.com", "globeandmail.com",
    "lemonde.fr", "faz.net", "spiegel.de", "sueddeutsche.de", "politico.com", "politico.eu",
    "coindesk.com", "theblock.co", "cointelegraph.com", "decrypt.co", "rcrwireless.com",
    "fierce-network.com", "lightreading.com", "eetimes.com", "digitimes.com", "trendforce.com",
    "the-decoder.com", "techzine.eu", "zawya.com", "thenationalnews.com", "arabnews.com",
    "techspot.com", "tweaktown.com", "qz.com", "itpro.com", "industryweek.com", "ipe.com",
    "capacitymedia.com", "worldconstructionnetwork.com", "commercialsearch.com", "ndtvprofit.com",
    "wionews.com", "timeslive.co.za", "gulftoday.ae", "newsmax.com", "thestar.com.my",
    "computerweekly.com", "ifre.com", "theedgemalaysia.com", "bnnbloomberg.ca", "euronews.com",
    "dw.com", "swissinfo.ch", "investing.businessweek.com", "infotechlead.com", "sdxcentral.com",
})
AGGREGATOR_HOSTS = frozenset({
    "crunchbase.com", "pitchbook.com", "tracxn.com", "cbinsights.com", "wikipedia.org", "stocktitan.net",
    "menafn.com", "particle.news", "inkl.com", "nasdaq.com", "marketscreener.com",
    "investing.com", "seekingalpha.com", "finance.yahoo.com", "yahoo.com", "msn.com",
    "benzinga.com", "fool.com", "zacks.com", "tipranks.com", "marketbeat.com",
    "simplywall.st", "gurufocus.com", "coincodex.com", "coinalertnews.com", "trading.hk",
    "substack.com", "medium.com", "linkedin.com", "x.com", "twitter.com", "reddit.com",
    "news.google.com", "flipboard.com", "ground.news", "newsbreak.com", "webpronews.com",
    "advancedainews.com", "ainewshome.com", "digitalmarketreports.com", "trendinginfo.blog",
    "thepulse.press", "americanistpress.com", "wyomingstarnews.org", "prchief.com",
    "ypredict.ai", "zilck.com", "sipoch.com", "kontronn.com", "idcnova.com",
    "ic-integratedcircuits.com", "urdupoint.com",
})
# Second-level labels under which a registrable name sits one level deeper (news.bbc.co.uk).
_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "gov", "ac", "edu", "or", "ne", "go"})


_HOST = re.compile(r"https?://([A-Za-z0-9.-]+)(?::[0-9]*)?(?:[/?#]|$)")


def host_of(url: str) -> str:
    """The URL's host, lower case, without ``www.`` or a port.

    >>> host_of("https://WWW.Reuters.com:443/markets/x")
    'reuters.com'
    """
    m = _HOST.match(url)
    if m is None:
        try:
            host = (urlsplit(url).hostname or "").lower()
        except ValueError:
            return ""
    else:  # the common case without urlsplit's generality (and cost)
        host = m.group(1).lower()
    return host[4:] if host.startswith("www.") else host


def _in(host: str, hosts: frozenset[str]) -> bool:
    """``host`` is one of ``hosts`` or a subdomain of one."""
    parts = host.split(".")
    return any(".".join(parts[i:]) in hosts for i in range(len(parts) - 1))


def _registrable_label(host: str) -> str:
    """The label a site is registered under: ``nvidia`` for ``nvidianews.nvidia.com``,
    ``bbc`` for ``news.bbc.co.uk``."""
    parts = host.split(".")
    if len(parts) >= 3 and len(parts[-1]) == 2 and parts[-2] in _SECOND_LEVEL:
        return parts[-3]
    return parts[-2] if len(parts) >= 2 else host


@functools.lru_cache(maxsize=65536)  # a deal's party names come again with each of its sources
def name_token(text: str) -> str:
    """A name as a host would spell it: letters and digits only, lower case, accents dropped.

    >>> name_token("Société Générale"), name_token("xAI"), name_token("Nvidia Corp.")
    ('societegenerale', 'xai', 'nvidiacorp')
    """
    t = unicodedata.normalize("NFKD", text.casefold())
    return re.sub(r"[^a-z0-9]", "", "".join(c for c in t if not unicodedata.combining(c)))


def classify_source(url: str, parties: Iterable[str] = ()) -> str:
    """The kind of source ``url`` is, by the rule in the module docstring. ``parties``:
    the ids, names and aliases of the deal's parties (and members).

    >>> classify_source("https://www.sec.gov/Archives/edgar/data/1045810/x.htm")
    'filing'
    >>> classify_source("https://nvidianews.nvidia.com/news/openai", ["nvidia", "Nvidia Corp"])
    'company'
    >>> classify_source("https://www.reuters.com/technology/x"), classify_source("https://example.org/x")
    ('news', 'other')
    """
    return classify_source_tokens(url, {name_token(p) for p in parties})


def classify_source_tokens(url: str, tokens: Container[str]) -> str:
    """:func:`classify_source` with the parties given as their :func:`name_token`
    (a caller classifying many deals keeps each entity's tokens).

    >>> classify_source_tokens("https://nvidianews.nvidia.com/news/openai", {"nvidia"})
    'company'
    """
    host = host_of(url)
    if not host:
        return "other"
    label, kind = _host_kind(host)
    if kind == "filing":
        return kind
    if len(label) >= 3 and label in tokens:
        return "company"
    return kind


@functools.lru_cache(maxsize=65536)  # a source site comes again with many deals
def _host_kind(host: str) -> tuple[str, str]:
    """(the host's registrable label, its kind by the lists alone)."""
    if _in(host, FILING_HOSTS):
        return "", "filing"
    label = _registrable_label(host)
    if _in(host, WIRE_HOSTS):
        return label, "company"
    if _in(host, NEWS_HOSTS):
        return label, "news"
    if _in(host, AGGREGATOR_HOSTS):
        return label, "aggregator"
    return label, "other"
