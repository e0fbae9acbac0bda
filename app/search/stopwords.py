"""Words left out of every search, on both backends: PostgreSQL's stop lists.

PostgreSQL drops the words of its English list (the `convene` text search configuration is a
copy of `english`) from a tsquery, while SQLite FTS5 would search them; the lists of Spanish,
French and Portuguese, the notes' other languages, are very common words too. `query.parse`
removes them all before either backend sees the query, so both find the same updates. Copied
from PostgreSQL 15's `tsearch_data/*.stop` (from Snowball).
"""

from __future__ import annotations

import unicodedata

LISTS = {
    "english": """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his
    himself she her hers herself it its itself they them their theirs themselves what which
    who whom this that these those am is are was were be been being have has had having do
    does did doing a an the and but if or because as until while of at by for with about
    against between into through during before after above below to from up down in out on
    off over under again further then once here there when where why how all any both each
    few more most other some such no nor not only own same so than too very s t can will
    just don should now
    """,
    "spanish": """
    de la que el en y a los del se las por un para con no una su al lo como más pero sus le
    ya o este sí porque esta entre cuando muy sin sobre también me hasta hay donde quien
    desde todo nos durante todos uno les ni contra otros ese eso ante ellos e esto mí antes
    algunos qué unos yo otro otras otra él tanto esa estos mucho quienes nada muchos cual
    poco ella estar estas algunas algo nosotros mi mis tú te ti tu tus ellas nosotras
    vosostros vosostras os mío mía míos mías tuyo tuya tuyos tuyas suyo suya suyos suyas
    nuestro nuestra nuestros nuestras vuestro vuestra vuestros vuestras esos esas estoy
    estás está estamos estáis están esté estés estemos estéis estén estaré estarás estará
    estaremos estaréis estarán estaría estarías estaríamos estaríais estarían estaba estabas
    estábamos estabais estaban estuve estuviste estuvo estuvimos estuvisteis estuvieron
    estuviera estuvieras estuviéramos estuvierais estuvieran estuviese estuvieses
    estuviésemos estuvieseis estuviesen estando estado estada estados estadas estad he has
    ha hemos habéis han haya hayas hayamos hayáis hayan habré habrás habrá habremos habréis
    habrán habría habrías habríamos habríais habrían había habías habíamos habíais habían
    hube hubiste hubo hubimos hubisteis hubieron hubiera hubieras hubiéramos hubierais
    hubieran hubiese hubieses hubiésemos hubieseis hubiesen habiendo habido habida habidos
    habidas soy eres es somos sois son sea seas seamos seáis sean seré serás será seremos
    seréis serán sería serías seríamos seríais serían era eras éramos erais eran fui fuiste
    fue fuimos fuisteis fueron fuera fueras fuéramos fuerais fueran fuese fueses fuésemos
    fueseis fuesen sintiendo sentido sentida sentidos sentidas siente sentid tengo tienes
    tiene tenemos tenéis tienen tenga tengas tengamos tengáis tengan tendré tendrás tendrá
    tendremos tendréis tendrán tendría tendrías tendríamos tendríais tendrían tenía tenías
    teníamos teníais tenían tuve tuviste tuvo tuvimos tuvisteis tuvieron tuviera tuvieras
    tuviéramos tuvierais tuvieran tuviese tuvieses tuviésemos tuvieseis tuviesen teniendo
    tenido tenida tenidos tenidas tened
    """,
    "french": """
    au aux avec ce ces dans de des du elle en et eux il je la le leur lui ma mais me même
    mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son sur ta te tes
    toi ton tu un une vos votre vous c d j l à m n s t y été étée étées étés étant étante
    étants étantes suis es est sommes êtes sont serai seras sera serons serez seront serais
    serait serions seriez seraient étais était étions étiez étaient fus fut fûmes fûtes
    furent sois soit soyons soyez soient fusse fusses fût fussions fussiez fussent ayant
    ayante ayantes ayants eu eue eues eus ai as avons avez ont aurai auras aura aurons aurez
    auront aurais aurait aurions auriez auraient avais avait avions aviez avaient eut eûmes
    eûtes eurent aie aies ait ayons ayez aient eusse eusses eût eussions eussiez eussent
    """,
    "portuguese": """
    de a o que e do da em um para com não uma os no se na por mais as dos como mas ao ele
    das à seu sua ou quando muito nos já eu também só pelo pela até isso ela entre depois
    sem mesmo aos seus quem nas me esse eles você essa num nem suas meu às minha numa pelos
    elas qual nós lhe deles essas esses pelas este dele tu te vocês vos lhes meus minhas teu
    tua teus tuas nosso nossa nossos nossas dela delas esta estes estas aquele aquela
    aqueles aquelas isto aquilo estou está estamos estão estive esteve estivemos estiveram
    estava estávamos estavam estivera estivéramos esteja estejamos estejam estivesse
    estivéssemos estivessem estiver estivermos estiverem hei há havemos hão houve houvemos
    houveram houvera houvéramos haja hajamos hajam houvesse houvéssemos houvessem houver
    houvermos houverem houverei houverá houveremos houverão houveria houveríamos houveriam
    sou somos são era éramos eram fui foi fomos foram fora fôramos seja sejamos sejam fosse
    fôssemos fossem for formos forem serei será seremos serão seria seríamos seriam tenho
    tem temos tém tinha tínhamos tinham tive teve tivemos tiveram tivera tivéramos tenha
    tenhamos tenham tivesse tivéssemos tivessem tiver tivermos tiverem terei terá teremos
    terão teria teríamos teriam
    """,
}


def unaccented(word: str) -> str:
    """The word without diacritics, as the indexes compare it ("él" is "el")."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


STOPWORDS = frozenset(unaccented(word) for words in LISTS.values() for word in words.split())
