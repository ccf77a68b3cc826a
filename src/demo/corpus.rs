//! The demo corpus: realistic, deterministic ads across all markets and languages, with
//! the hard cases moderation faces (obfuscation, benign uses of sensitive words, mixed
//! languages, restricted-but-legal offers), some label noise, and a gentle drift in the
//! last days: a new scam wording in BR and ID and more English in DE and FR, then campaign
//! waves the model has not seen (crypto "investasi" scams in ID and SG, Carnival alcohol
//! promotions in BR) that move the score distributions the drift dashboard watches.

use crate::platform::time::Millis;
use crate::vocab::market::{Language, Market};
use crate::vocab::policy::Category;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// One generated ad with its true labels.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CorpusAd {
    pub external_id: String,
    pub advertiser_id: String,
    pub market: Market,
    pub language: Language,
    pub headline: String,
    pub body: String,
    pub landing_url: String,
    pub daily_budget_usd: f64,
    pub labels: Vec<Category>,
    pub submitted_at: Millis,
}

impl CorpusAd {
    /// The ad as a submission, as `amso import` would read it; labels only if `labelled`.
    pub fn to_submitted(&self, labelled: bool) -> crate::intake::validate::SubmittedAd {
        crate::intake::validate::SubmittedAd {
            external_id: Some(self.external_id.clone()),
            advertiser_id: Some(self.advertiser_id.clone()),
            market: Some(self.market.code().into()),
            language: Some(self.language.code().into()),
            headline: Some(self.headline.clone()),
            body: Some(self.body.clone()),
            landing_url: Some(self.landing_url.clone()),
            daily_budget_usd: Some(self.daily_budget_usd),
            labels: labelled.then(|| self.labels.iter().map(|c| c.as_str().to_string()).collect()),
        }
    }
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct CorpusParams {
    pub ads: usize,
    pub days: u32,
    pub seed: u64,
    /// The end of the history (the last ad is submitted before this).
    pub end: Millis,
}

/// Share of ads carrying at least one policy category.
const VIOLATION_RATE: f64 = 0.22;
/// Share of ads whose recorded labels are wrong (as real human labels sometimes are).
const LABEL_NOISE: f64 = 0.02;
/// The drift starts this many days before the end.
const DRIFT_DAYS: u32 = 3;
/// The campaign waves start this many days before the end and grow until it.
const WAVE_DAYS: u32 = 6;

struct Bank {
    products: &'static [&'static str],
    offers: &'static [&'static str],
    benign_bodies: &'static [&'static str],
    /// Innocent ads that use sensitive words.
    sensitive_benign: &'static [&'static str],
    cta: &'static [&'static str],
}

fn bank(lang: Language) -> Bank {
    match lang {
        Language::En => Bank {
            products: &[
                "running shoes",
                "noise-cancelling headphones",
                "standing desk",
                "espresso machine",
                "yoga mat",
                "winter jacket",
                "smartphone case",
                "garden furniture",
                "kids' bicycle",
                "language course",
                "project management software",
                "car insurance",
                "hotel stay",
                "meal kit",
                "skincare set",
            ],
            offers: &[
                "Summer sale: {p} 30% off",
                "New {p} collection is here",
                "Free shipping on every {p}",
                "Upgrade your {p} today",
                "Top-rated {p}, now in stock",
                "Save on {p} this weekend",
            ],
            benign_bodies: &[
                "Order before Friday for delivery next week.",
                "Rated 4.8 by over 2,000 customers.",
                "Easy returns within 30 days.",
                "Visit our store or shop online.",
                "Student discounts available with a valid ID.",
                "Made from recycled materials.",
            ],
            sensitive_benign: &[
                "Crystal wine glasses, set of six, dishwasher safe.",
                "Casino Royale themed board game for family nights.",
                "Crypto tax advice from certified accountants.",
                "Shot glasses and bar tools for home cocktail parties.",
                "Paintball gear rental for team events.",
                "Cigar box guitar workshop this Saturday.",
                "Vote for your favourite cake in our bake-off!",
                "Poker night snacks bundle.",
                "Gun-metal grey sofa, now 20% off.",
                "Killer deals on kitchen knives for chefs.",
            ],
            cta: &[
                "Shop now",
                "Learn more",
                "Book today",
                "Order now",
                "Sign up",
            ],
        },
        Language::De => Bank {
            products: &[
                "Laufschuhe",
                "Kopfhörer",
                "Kaffeemaschine",
                "Winterjacke",
                "Gartenmöbel",
                "Sprachkurs",
                "Kfz-Versicherung",
                "Fahrrad",
            ],
            offers: &[
                "Sommerschlussverkauf: {p} 30 % günstiger",
                "Neu eingetroffen: {p}",
                "Versandkostenfrei: {p}",
                "Jetzt {p} sichern",
            ],
            benign_bodies: &[
                "Lieferung innerhalb von drei Werktagen.",
                "Über 2.000 zufriedene Kunden.",
                "30 Tage kostenlose Rücksendung.",
                "Besuchen Sie unseren Laden in Ihrer Nähe.",
            ],
            sensitive_benign: &[
                "Weingläser aus Kristall im Sechserset.",
                "Brettspiel im Casino-Stil für Spieleabende.",
                "Steuerberatung für Kryptowährungen vom Fachmann.",
            ],
            cta: &["Jetzt kaufen", "Mehr erfahren", "Jetzt bestellen"],
        },
        Language::Fr => Bank {
            products: &[
                "chaussures de course",
                "casque audio",
                "machine à expresso",
                "veste d'hiver",
                "mobilier de jardin",
                "cours de langue",
                "assurance auto",
                "vélo",
            ],
            offers: &[
                "Soldes d'été : {p} à -30 %",
                "Nouvelle collection : {p}",
                "Livraison offerte sur {p}",
                "Découvrez {p} dès aujourd'hui",
            ],
            benign_bodies: &[
                "Livraison sous trois jours ouvrés.",
                "Plus de 2 000 clients satisfaits.",
                "Retours gratuits sous 30 jours.",
                "Rendez-vous dans notre boutique.",
            ],
            sensitive_benign: &[
                "Verres à vin en cristal, lot de six.",
                "Jeu de société sur le thème du casino.",
                "Conseil fiscal pour vos cryptomonnaies.",
            ],
            cta: &["Acheter", "En savoir plus", "Commander"],
        },
        Language::Pt => Bank {
            products: &[
                "tênis de corrida",
                "fones de ouvido",
                "cafeteira",
                "jaqueta",
                "móveis de jardim",
                "curso de idiomas",
                "seguro auto",
                "bicicleta",
            ],
            offers: &[
                "Liquidação: {p} com 30% de desconto",
                "Chegou a nova coleção de {p}",
                "Frete grátis em {p}",
                "Garanta já seu {p}",
            ],
            benign_bodies: &[
                "Entrega em até três dias úteis.",
                "Mais de 2.000 clientes satisfeitos.",
                "Troca grátis em 30 dias.",
                "Visite nossa loja.",
            ],
            sensitive_benign: &[
                "Taças de vinho de cristal, kit com seis.",
                "Jogo de tabuleiro com tema de cassino.",
                "Consultoria de impostos para criptomoedas.",
            ],
            cta: &["Compre agora", "Saiba mais", "Peça já"],
        },
        Language::Id => Bank {
            products: &[
                "sepatu lari",
                "headphone",
                "mesin kopi",
                "jaket",
                "furnitur taman",
                "kursus bahasa",
                "asuransi mobil",
                "sepeda",
            ],
            offers: &[
                "Diskon besar: {p} hemat 30%",
                "Koleksi baru {p} telah tiba",
                "Gratis ongkir untuk {p}",
                "Dapatkan {p} hari ini",
            ],
            benign_bodies: &[
                "Pengiriman dalam tiga hari kerja.",
                "Lebih dari 2.000 pelanggan puas.",
                "Gratis pengembalian 30 hari.",
                "Kunjungi toko kami.",
            ],
            sensitive_benign: &[
                "Gelas anggur kristal isi enam.",
                "Permainan papan bertema kasino untuk keluarga.",
                "Konsultasi pajak aset kripto.",
            ],
            cta: &["Beli sekarang", "Pelajari lebih lanjut", "Pesan sekarang"],
        },
        Language::Ja => Bank {
            products: &[
                "ランニングシューズ",
                "ヘッドホン",
                "コーヒーメーカー",
                "冬物ジャケット",
                "ガーデン家具",
                "英会話レッスン",
                "自動車保険",
                "自転車",
            ],
            offers: &[
                "夏のセール：{p}が30%オフ",
                "{p}の新作が登場",
                "{p}は送料無料",
                "今すぐ{p}をチェック",
            ],
            benign_bodies: &[
                "3営業日以内にお届けします。",
                "2000人以上のお客様が満足。",
                "30日間返品無料。",
                "店舗またはオンラインで。",
            ],
            sensitive_benign: &[
                "クリスタルのワイングラス6客セット。",
                "カジノ風ボードゲームで家族の夜を。",
                "暗号資産の税務相談。",
            ],
            cta: &["今すぐ購入", "詳しくはこちら", "予約する"],
        },
        Language::Ko => Bank {
            products: &[
                "러닝화",
                "헤드폰",
                "커피머신",
                "겨울 재킷",
                "정원 가구",
                "어학 강좌",
                "자동차 보험",
                "자전거",
            ],
            offers: &[
                "여름 세일: {p} 30% 할인",
                "{p} 신상품 출시",
                "{p} 무료 배송",
                "지금 {p} 만나보세요",
            ],
            benign_bodies: &[
                "3영업일 이내 배송.",
                "2,000명 이상의 고객 만족.",
                "30일 무료 반품.",
                "매장 또는 온라인에서.",
            ],
            sensitive_benign: &[
                "크리스탈 와인잔 6개 세트.",
                "카지노 테마 보드게임.",
                "암호화폐 세무 상담.",
            ],
            cta: &["지금 구매", "자세히 보기", "예약하기"],
        },
        Language::Ar => Bank {
            products: &[
                "أحذية الجري",
                "سماعات الرأس",
                "آلة القهوة",
                "سترة شتوية",
                "أثاث الحديقة",
                "دورة لغة",
                "تأمين السيارات",
                "دراجة",
            ],
            offers: &[
                "تخفيضات الصيف: {p} بخصم 30%",
                "وصلت تشكيلة {p} الجديدة",
                "شحن مجاني على {p}",
                "احصل على {p} اليوم",
            ],
            benign_bodies: &[
                "التوصيل خلال ثلاثة أيام عمل.",
                "أكثر من 2000 عميل راضٍ.",
                "إرجاع مجاني خلال 30 يومًا.",
                "زوروا متجرنا.",
            ],
            sensitive_benign: &[
                "كؤوس كريستال للعصير، طقم من ستة.",
                "لعبة لوحية بطابع الكازينو للعائلة.",
                "استشارات ضريبية للعملات الرقمية.",
            ],
            cta: &["تسوق الآن", "اعرف المزيد", "اطلب الآن"],
        },
    }
}

/// Phrases that make an ad belong to `category`, in `lang`.
fn violation_phrases(category: Category, lang: Language) -> &'static [&'static str] {
    use Category::*;
    use Language::*;
    match (category, lang) {
        (Weapons, En) => &[
            "Buy assault rifles online, no background check",
            "Untraceable ghost gun kits shipped discreetly",
            "Switchblades and brass knuckles wholesale",
            "Silencers for any pistol, no license needed",
        ],
        (Weapons, De) => &[
            "Sturmgewehre ohne Waffenschein kaufen",
            "Schalldämpfer für jede Pistole",
        ],
        (Weapons, Fr) => &[
            "Achetez des fusils d'assaut sans permis",
            "Silencieux pour pistolet livrés discrètement",
        ],
        (Weapons, Pt) => &[
            "Compre fuzis sem registro",
            "Silenciador para pistola com entrega discreta",
        ],
        (Weapons, Id) => &[
            "Jual senjata api rakitan tanpa izin",
            "Peredam suara pistol kirim rahasia",
        ],
        (Weapons, Ja) => &["許可不要の拳銃を販売", "サイレンサー付き銃を匿名配送"],
        (Weapons, Ko) => &["허가 없이 총기 판매", "소음기 권총 익명 배송"],
        (Weapons, Ar) => &["بيع أسلحة نارية بدون ترخيص", "كاتم صوت للمسدسات بتوصيل سري"],
        (Drugs, En) => &[
            "Order cannabis gummies and MDMA, discreet delivery",
            "Buy oxycodone without prescription",
            "Pure cocaine shipped overnight",
            "Magic mushrooms microdose kits",
        ],
        (Drugs, De) => &[
            "Kokain und Ecstasy diskret bestellen",
            "Oxycodon ohne Rezept",
        ],
        (Drugs, Fr) => &[
            "Cocaïne et ecstasy livrées discrètement",
            "Oxycodone sans ordonnance",
        ],
        (Drugs, Pt) => &[
            "Cocaína e ecstasy com entrega discreta",
            "Remédio controlado sem receita",
        ],
        (Drugs, Id) => &[
            "Jual sabu dan ekstasi kirim aman",
            "Obat keras tanpa resep dokter",
        ],
        (Drugs, Ja) => &["大麻グミを匿名配送", "処方箋なしで鎮痛剤を販売"],
        (Drugs, Ko) => &["대마초 젤리 익명 배송", "처방전 없이 마약성 진통제"],
        (Drugs, Ar) => &["حشيش وحبوب مخدرة بتوصيل سري", "أدوية مخدرة بدون وصفة"],
        (Tobacco, En) => &[
            "Cheap cigarettes by the carton, tax free",
            "Vape juice and disposable vapes, no age check",
            "Premium cigars and chewing tobacco",
        ],
        (Tobacco, De) => &[
            "Zigaretten stangenweise steuerfrei",
            "E-Zigaretten ohne Altersprüfung",
        ],
        (Tobacco, Fr) => &[
            "Cigarettes pas chères en cartouche",
            "Vapoteuses jetables sans contrôle d'âge",
        ],
        (Tobacco, Pt) => &[
            "Cigarros baratos por pacote",
            "Vapes descartáveis sem verificação de idade",
        ],
        (Tobacco, Id) => &["Rokok murah per slop", "Vape sekali pakai tanpa cek umur"],
        (Tobacco, Ja) => &["タバコをカートンで格安販売", "年齢確認なしの電子タバコ"],
        (Tobacco, Ko) => &["담배 보루 단위 최저가", "나이 확인 없는 전자담배"],
        (Tobacco, Ar) => &[
            "سجائر رخيصة بالكرتونة",
            "سجائر إلكترونية بدون التحقق من العمر",
        ],
        (Alcohol, En) => &[
            "Fine wines and craft beer delivered to your door",
            "Whisky tasting club: first bottle free",
            "Vodka and gin bundles for your party",
        ],
        (Alcohol, De) => &[
            "Weine und Craft-Bier direkt nach Hause",
            "Whisky-Club: erste Flasche gratis",
        ],
        (Alcohol, Fr) => &[
            "Grands vins et bières artisanales livrés chez vous",
            "Club whisky : première bouteille offerte",
        ],
        (Alcohol, Pt) => &[
            "Vinhos e cervejas artesanais em casa",
            "Clube do whisky: primeira garrafa grátis",
        ],
        (Alcohol, Id) => &["Bir dan anggur diantar ke rumah", "Paket vodka untuk pesta"],
        (Alcohol, Ja) => &[
            "ワインとクラフトビールをご自宅へ",
            "ウイスキー定期便、初回無料",
        ],
        (Alcohol, Ko) => &["와인과 수제 맥주 집 앞까지 배송", "위스키 클럽 첫 병 무료"],
        (Alcohol, Ar) => &["نبيذ وبيرة توصيل للمنازل", "فودكا وجن لحفلتك"],
        (Gambling, En) => &[
            "Online casino: 200% welcome bonus and free spins",
            "Bet on tonight's match, instant payouts",
            "Slots jackpot, win real money now",
            "Best c4sino bonus, play now",
        ],
        (Gambling, De) => &[
            "Online-Casino: 200 % Willkommensbonus",
            "Sportwetten mit Sofortauszahlung",
        ],
        (Gambling, Fr) => &[
            "Casino en ligne : bonus de bienvenue 200 %",
            "Paris sportifs, gains instantanés",
        ],
        (Gambling, Pt) => &[
            "Cassino online: bônus de 200%",
            "Aposte no jogo de hoje, saque na hora",
        ],
        (Gambling, Id) => &[
            "Situs judi online bonus 200%",
            "Slot gacor hari ini pasti menang",
        ],
        (Gambling, Ja) => &[
            "オンラインカジノ入金ボーナス200%",
            "スポーツベットで今すぐ稼ぐ",
        ],
        (Gambling, Ko) => &["온라인 카지노 첫 충전 보너스 200%", "스포츠 토토 즉시 환전"],
        (Gambling, Ar) => &["كازينو أونلاين مكافأة 200%", "راهن الآن واربح فورًا"],
        (Adult, En) => &[
            "Hot singles near you, explicit webcam shows",
            "XXX videos, uncensored, 18+ only",
            "Adult escort services available tonight",
        ],
        (Adult, De) => &[
            "Heiße Singles in deiner Nähe, Sexcam",
            "Erotik-Videos unzensiert",
        ],
        (Adult, Fr) => &[
            "Célibataires chauds près de chez vous",
            "Vidéos X non censurées",
        ],
        (Adult, Pt) => &[
            "Acompanhantes disponíveis hoje",
            "Vídeos adultos sem censura",
        ],
        (Adult, Id) => &["Video dewasa tanpa sensor", "Layanan pijat plus plus"],
        (Adult, Ja) => &["アダルト動画見放題", "出会い系ライブチャット"],
        (Adult, Ko) => &["성인 영상 무삭제", "만남 채팅 즉시 연결"],
        (Adult, Ar) => &["فيديوهات للكبار بدون رقابة", "تعارف ساخن بالقرب منك"],
        (Scam, En) => &[
            "Earn $5,000 a week from home, guaranteed",
            "Your account is locked, verify your password here",
            "Double your bitcoin in 24 hours",
            "Congratulations, you won an iPhone, pay shipping only",
            "Secret investment doctors don't want you to know",
        ],
        (Scam, De) => &[
            "Verdiene 5.000 € pro Woche von zu Hause, garantiert",
            "Ihr Konto ist gesperrt, bestätigen Sie Ihr Passwort",
        ],
        (Scam, Fr) => &[
            "Gagnez 5 000 € par semaine depuis chez vous",
            "Votre compte est bloqué, confirmez votre mot de passe",
        ],
        (Scam, Pt) => &[
            "Ganhe R$ 5.000 por semana em casa, garantido",
            "Sua conta foi bloqueada, confirme sua senha",
        ],
        (Scam, Id) => &[
            "Dapatkan 50 juta per minggu dari rumah, dijamin",
            "Akun Anda diblokir, verifikasi kata sandi di sini",
        ],
        (Scam, Ja) => &[
            "在宅で月100万円確実に稼げる",
            "アカウントが停止されました、パスワードを確認",
        ],
        (Scam, Ko) => &[
            "재택으로 월 천만원 보장 수익",
            "계정이 정지되었습니다 비밀번호 확인",
        ],
        (Scam, Ar) => &[
            "اربح 5000 دولار أسبوعيًا من المنزل مضمون",
            "تم قفل حسابك، أكد كلمة المرور هنا",
        ],
        (HealthClaims, En) => &[
            "Lose 20 pounds in 10 days without diet",
            "Miracle cure for diabetes, doctors stunned",
            "This pill reverses ageing overnight",
            "Cure cancer naturally with one herb",
        ],
        (HealthClaims, De) => &[
            "10 Kilo in 10 Tagen abnehmen ohne Diät",
            "Wundermittel heilt Diabetes",
        ],
        (HealthClaims, Fr) => &[
            "Perdez 10 kilos en 10 jours sans régime",
            "Remède miracle contre le diabète",
        ],
        (HealthClaims, Pt) => &[
            "Perca 10 quilos em 10 dias sem dieta",
            "Cura milagrosa para diabetes",
        ],
        (HealthClaims, Id) => &[
            "Turun 10 kilo dalam 10 hari tanpa diet",
            "Obat ajaib sembuhkan diabetes",
        ],
        (HealthClaims, Ja) => &[
            "食事制限なしで10日で10キロ痩せる",
            "糖尿病が治る奇跡のサプリ",
        ],
        (HealthClaims, Ko) => &["식단 없이 10일 만에 10킬로 감량", "당뇨가 낫는 기적의 약"],
        (HealthClaims, Ar) => &["اخسر 10 كيلو في 10 أيام بدون رجيم", "علاج سحري للسكري"],
        (Counterfeit, En) => &[
            "Replica Rolex watches, 1:1 quality",
            "Designer handbags, AAA copies at factory prices",
            "Fake Nike sneakers indistinguishable from original",
        ],
        (Counterfeit, De) => &[
            "Replika-Uhren in 1:1-Qualität",
            "Designer-Taschen als Kopie zum Fabrikpreis",
        ],
        (Counterfeit, Fr) => &[
            "Montres réplique qualité 1:1",
            "Sacs de créateurs, copies parfaites",
        ],
        (Counterfeit, Pt) => &["Relógios réplica primeira linha", "Bolsas de grife réplica"],
        (Counterfeit, Id) => &["Jam tangan replika kualitas ori", "Tas branded KW super"],
        (Counterfeit, Ja) => &["ブランド時計のスーパーコピー", "高品質コピーバッグ"],
        (Counterfeit, Ko) => &["명품 시계 레플리카 1:1", "명품 가방 이미테이션 특가"],
        (Counterfeit, Ar) => &[
            "ساعات ماركات تقليد طبق الأصل",
            "حقائب ماركات تقليد درجة أولى",
        ],
        (Political, En) => &[
            "Vote for Senator Hayes on election day",
            "Stop the other party before it's too late, donate now",
            "Referendum: vote No to protect our borders",
        ],
        (Political, De) => &[
            "Wählen Sie am Sonntag die Zukunftspartei",
            "Spenden Sie jetzt für unseren Wahlkampf",
        ],
        (Political, Fr) => &[
            "Votez pour notre candidate aux élections",
            "Faites un don à la campagne présidentielle",
        ],
        (Political, Pt) => &[
            "Vote no nosso candidato nas eleições",
            "Doe para a campanha presidencial",
        ],
        (Political, Id) => &[
            "Pilih calon nomor dua di pemilu",
            "Dukung partai kami dalam pilkada",
        ],
        (Political, Ja) => &["選挙では候補者に清き一票を", "政党への寄付をお願いします"],
        (Political, Ko) => &["선거에서 기호 2번에 투표하세요", "대선 캠프 후원하기"],
        (Political, Ar) => &["صوّت لمرشحنا في الانتخابات", "تبرع لحملتنا الانتخابية"],
    }
}

/// The new scam wording that appears late in BR and ID (the drift to detect).
const DRIFT_SCAM: &[(Language, &str)] = &[
    (
        Language::Pt,
        "Robô de IA faz trades por você: lucro de 3% ao dia garantido",
    ),
    (Language::Pt, "Renda passiva com robô de IA, saque via Pix"),
    (Language::Id, "Robot trading AI profit 3% per hari dijamin"),
    (Language::Id, "Bot AI cuan harian, tarik dana kapan saja"),
    (
        Language::En,
        "AI trading bot: guaranteed 3% daily profit, withdraw anytime",
    ),
];

/// A campaign that floods one market in the last days with wording the model has not
/// seen. It takes over a growing share of the market's ads (the volume stays the same), so
/// what changes is what the model is shown, and the scores it gives follow.
struct Wave {
    market: Market,
    category: Category,
    /// The language the advertisers declare, when not the one the ad was drawn in.
    declared: Option<Language>,
    /// Share of the market's ads the wave takes at the end; it grows linearly from nothing.
    peak: f64,
    /// Whether the ads come from accounts that never advertised before.
    new_accounts: bool,
    phrases: &'static [&'static str],
}

const WAVES: [Wave; 3] = [
    // A crypto "investasi" and giveaway ring writing Indonesian-English and declaring its
    // ads English: the words half overlap scams the model knows, so its scores land
    // mostly in the uncertain band, and one wording slips through almost unflagged.
    Wave {
        market: Market::Id,
        category: Category::Scam,
        declared: Some(Language::En),
        peak: 0.25,
        new_accounts: true,
        phrases: &[
            "Investasi crypto dijamin cuan, withdraw kapan saja",
            "Passive income dari rumah, investasi crypto dijamin",
            "Crypto investasi: guaranteed profit, WD kapan saja",
            "Giveaway crypto dijamin: deposit 1 juta, withdraw 2 juta",
            "Airdrop giveaway 500 USDT, claim dari rumah, dijamin",
            "Giveaway USDT dijamin cair, cukup verifikasi akun",
            "Join VIP signal crypto, profit dijamin tiap hari",
        ],
    },
    // The same ring tries Singapore, mostly in English.
    Wave {
        market: Market::Sg,
        category: Category::Scam,
        declared: None,
        peak: 0.1,
        new_accounts: true,
        phrases: &[
            "Crypto investment with guaranteed profit, withdraw anytime",
            "Passive income from home, crypto investment guaranteed",
            "USDT giveaway, guaranteed payout, just verify your account",
            "Crypto investasi: guaranteed profit, WD kapan saja",
        ],
    },
    // Carnival: shops and bars promote drinks, some in wording the model knows well, some
    // in party slang it is unsure about.
    Wave {
        market: Market::Br,
        category: Category::Alcohol,
        declared: None,
        peak: 0.12,
        new_accounts: false,
        phrases: &[
            "Vinhos e cervejas artesanais em casa",
            "Clube do whisky: primeira garrafa grátis",
            "Cervejas artesanais para o bloco, entrega em 1 hora",
            "Abadá com open bar de cerveja e vodka",
            "Esquenta de Carnaval: combo de vodka e energético",
        ],
    },
];

impl Wave {
    /// Rewrites `ad` as one of the wave's, around the ad's own offer (headline, body).
    fn take_over(&self, ad: &mut CorpusAd, (headline, body): (String, String), rng: &mut StdRng) {
        let phrase = pick(rng, self.phrases).to_string();
        (ad.headline, ad.body) = if rng.gen_bool(0.6) {
            (phrase, body)
        } else {
            (headline, format!("{phrase}. {body}"))
        };
        if self.new_accounts {
            // Numbers past the 400 regular advertisers of each market.
            let n = rng.gen_range(400..440);
            ad.advertiser_id = format!("adv-{}-{n}", self.market.code().to_lowercase());
        }
        ad.landing_url = format!("https://{}.example/promo", ad.advertiser_id);
        ad.language = self.declared.unwrap_or(ad.language);
        ad.labels = vec![self.category];
    }
}

/// The wave, if any, that takes over an ad of `market` submitted at `at`; `rng` is the
/// waves' own, so that the rest of the corpus is drawn as without them.
fn wave_at(
    market: Market,
    at: Millis,
    (from, to): (Millis, Millis),
    rng: &mut StdRng,
) -> Option<&'static Wave> {
    if at < from || to <= from {
        return None;
    }
    let grown = (at - from) as f64 / (to - from) as f64;
    WAVES
        .iter()
        .filter(|w| w.market == market)
        .find(|w| rng.gen_bool((w.peak * grown).clamp(0.0, 1.0)))
}

/// How often each category appears among violating ads (relative weights).
fn category_weight(c: Category) -> f64 {
    match c {
        Category::Scam => 5.0,
        Category::Gambling => 3.0,
        Category::HealthClaims => 3.0,
        Category::Alcohol => 3.0,
        Category::Counterfeit => 2.0,
        Category::Adult => 2.0,
        Category::Tobacco => 1.5,
        Category::Drugs => 1.5,
        Category::Weapons => 1.0,
        Category::Political => 1.0,
    }
}

/// Leetspeak, spaced letters, emoji or homoglyphs: how evaders write.
fn obfuscate(text: &str, rng: &mut StdRng) -> String {
    match rng.gen_range(0..4) {
        0 => text
            .chars()
            .map(|c| match c {
                'a' if rng.gen_bool(0.6) => '4',
                'o' if rng.gen_bool(0.6) => '0',
                'i' if rng.gen_bool(0.6) => '1',
                'e' if rng.gen_bool(0.6) => '3',
                other => other,
            })
            .collect(),
        1 => text
            .split(' ')
            .map(|w| {
                if w.chars().count() > 4 && rng.gen_bool(0.3) {
                    w.chars()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join(" ")
                } else {
                    w.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
        2 => {
            let emoji = ["🔥", "💰", "🎰", "✅", "🚀", "💊"];
            text.split(' ')
                .map(|w| {
                    format!(
                        "{w}{}",
                        if rng.gen_bool(0.3) {
                            emoji[rng.gen_range(0..emoji.len())]
                        } else {
                            ""
                        }
                    )
                })
                .collect::<Vec<_>>()
                .join(" ")
        }
        _ => text
            .chars()
            .map(|c| match c {
                'a' if rng.gen_bool(0.5) => 'а',
                'o' if rng.gen_bool(0.5) => 'о',
                'e' if rng.gen_bool(0.5) => 'е',
                'c' if rng.gen_bool(0.5) => 'с',
                other => other,
            })
            .collect(),
    }
}

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.gen_range(0..items.len())]
}

/// Generates the corpus, ordered by submission time.
pub fn generate(params: &CorpusParams) -> Vec<CorpusAd> {
    generate_with(params, true)
}

/// The corpus as it was before the campaign waves (the same ads, the waves' ads left as
/// drawn): what a model trained before them could have learnt from.
pub fn generate_without_waves(params: &CorpusParams) -> Vec<CorpusAd> {
    generate_with(params, false)
}

fn generate_with(params: &CorpusParams, with_waves: bool) -> Vec<CorpusAd> {
    let mut rng = StdRng::seed_from_u64(params.seed);
    let day_ms: i64 = 86_400_000;
    let start = params.end - i64::from(params.days.max(1)) * day_ms;
    let drift_from = params.end - i64::from(DRIFT_DAYS.min(params.days)) * day_ms;
    let waves = (
        params.end - i64::from(WAVE_DAYS.min(params.days)) * day_ms,
        params.end,
    );
    let mut wave_rng = StdRng::seed_from_u64(params.seed ^ 0x0a7e_5ca3);
    let weights: Vec<f64> = Category::ALL.iter().map(|c| category_weight(*c)).collect();
    let total_weight: f64 = weights.iter().sum();

    let mut ads = Vec::with_capacity(params.ads);
    for n in 0..params.ads {
        let market = Market::ALL[rng.gen_range(0..Market::ALL.len())];
        // Busier in the day (UTC) than at night, roughly.
        let day = rng.gen_range(0..params.days.max(1)) as i64;
        let hour_ms = (rng.gen_range(0.0f64..1.0).powf(0.8) * day_ms as f64) as i64;
        let submitted_at = (start + day * day_ms + hour_ms).min(params.end - 1);
        let late = submitted_at >= drift_from;

        let langs = market.languages();
        let english_share = if late && matches!(market, Market::De | Market::Fr) {
            0.55
        } else {
            0.15
        };
        let language = if langs.len() > 1 && rng.gen_bool(english_share) {
            Language::En
        } else {
            langs[0]
        };
        let bank = bank(language);

        let advertiser_n = rng.gen_range(0..400);
        let bad_actor = advertiser_n % 9 == 0;
        let advertiser_id = format!("adv-{}-{advertiser_n:03}", market.code().to_lowercase());
        let violating = rng.gen_bool(if bad_actor { 0.7 } else { VIOLATION_RATE * 0.8 });

        let product = pick(&mut rng, bank.products);
        let mut headline = pick(&mut rng, bank.offers).replace("{p}", product);
        let mut body = format!(
            "{} {}",
            pick(&mut rng, bank.benign_bodies),
            pick(&mut rng, bank.cta)
        );
        let offer = (headline.clone(), body.clone());
        let mut labels = Vec::new();
        let mut landing_url = format!(
            "https://{}.example/{}",
            advertiser_id,
            product.split(' ').next().unwrap_or("shop")
        );

        if violating {
            let mut cats = vec![{
                let mut x = rng.gen_range(0.0..total_weight);
                let mut chosen = Category::Scam;
                for (c, w) in Category::ALL.iter().zip(&weights) {
                    if x < *w {
                        chosen = *c;
                        break;
                    }
                    x -= w;
                }
                chosen
            }];
            if rng.gen_bool(0.12) {
                let extra = Category::ALL[rng.gen_range(0..Category::ALL.len())];
                if !cats.contains(&extra) {
                    cats.push(extra);
                }
            }
            for (i, c) in cats.iter().enumerate() {
                let mut phrase = if *c == Category::Scam
                    && late
                    && matches!(market, Market::Br | Market::Id)
                    && rng.gen_bool(0.7)
                {
                    DRIFT_SCAM
                        .iter()
                        .filter(|(l, _)| *l == language || *l == Language::En)
                        .map(|(_, p)| *p)
                        .collect::<Vec<_>>()
                        .choose(&mut rng)
                        .copied()
                        .unwrap_or(DRIFT_SCAM[0].1)
                        .to_string()
                } else {
                    pick(&mut rng, violation_phrases(*c, language)).to_string()
                };
                if rng.gen_bool(0.15) {
                    phrase = obfuscate(&phrase, &mut rng);
                }
                // Mixed languages: the violating line sometimes arrives in English.
                if language != Language::En && rng.gen_bool(0.1) {
                    phrase = pick(&mut rng, violation_phrases(*c, Language::En)).to_string();
                }
                if i == 0 && rng.gen_bool(0.6) {
                    headline = phrase;
                } else {
                    body = format!("{phrase}. {body}");
                }
            }
            if cats.contains(&Category::Scam) && rng.gen_bool(0.5) {
                landing_url = format!(
                    "https://secure-verify-{}.example/login",
                    rng.gen_range(100..999)
                );
            }
            labels = cats;
        } else if rng.gen_bool(0.12) {
            // A hard negative: sensitive words in an innocent ad.
            body = format!(
                "{} {}",
                pick(&mut rng, bank.sensitive_benign),
                pick(&mut rng, bank.cta)
            );
        }
        if language != Language::En && rng.gen_bool(0.08) {
            body = format!("{body} {}", pick(&mut rng, bank_en_tagline()));
        }

        // Label noise: a reviewer missed a violation or flagged a clean ad.
        if rng.gen_bool(LABEL_NOISE) {
            if labels.is_empty() {
                labels.push(Category::ALL[rng.gen_range(0..Category::ALL.len())]);
            } else {
                labels.clear();
            }
        }
        labels.sort();

        let budget = (-rng.gen_range(0.0f64..1.0).ln() * 60.0 + 5.0).min(5000.0);
        let mut ad = CorpusAd {
            external_id: format!("demo-{}-{n:07}", params.seed),
            advertiser_id,
            market,
            language,
            headline,
            body,
            landing_url,
            daily_budget_usd: (budget * 100.0).round() / 100.0,
            labels,
            submitted_at,
        };
        if let Some(wave) = wave_at(market, submitted_at, waves, &mut wave_rng)
            && with_waves
        {
            wave.take_over(&mut ad, offer, &mut wave_rng);
        }
        ads.push(ad);
    }
    ads.sort_by_key(|a| a.submitted_at);
    ads
}

/// Share of a hardened corpus's ads padded with several sentences of ordinary copy.
const LONG_SHARE: f64 = 0.2;

/// Share of a hardened corpus's ads whose labels are flipped on top of [`LABEL_NOISE`].
const HARD_EXTRA_NOISE: f64 = 0.01;

/// Makes a generated corpus harder and less templated, the way real ad text is: every ad is
/// paraphrased (words dropped, fillers and words of other ads of its language inserted,
/// phrases reordered), misspelt (adjacent letters swapped, dropped or doubled), code-switched
/// (part of a non-English ad replaced by English words of the same kind of text, violating or
/// not), [`LONG_SHARE`] of them are made long (the message among several sentences of other
/// ads' ordinary copy), and labels are flipped for [`HARD_EXTRA_NOISE`] more of the ads. Deterministic for a
/// seed. `amso seed --export FILE --hard` writes it; `amso eval --baseline` measures on it.
pub fn harden(ads: &mut [CorpusAd], seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x4a2d_c0de);
    // Each language's vocabulary, to borrow words from (paraphrase and code-switching).
    let mut words: std::collections::BTreeMap<&'static str, (Vec<String>, Vec<String>)> =
        Default::default();
    for ad in ads.iter() {
        let entry = words.entry(ad.language.code()).or_default();
        let side = if ad.labels.is_empty() {
            &mut entry.0
        } else {
            &mut entry.1
        };
        if side.len() < 20_000 {
            side.extend(ad.headline.split_whitespace().map(str::to_string));
            side.extend(ad.body.split_whitespace().map(str::to_string));
        }
    }
    // Clean bodies per language, to pad some ads into long ones.
    let mut bodies: std::collections::BTreeMap<&'static str, Vec<String>> = Default::default();
    for ad in ads.iter().filter(|a| a.labels.is_empty()) {
        let pool = bodies.entry(ad.language.code()).or_default();
        if pool.len() < 2_000 {
            pool.push(ad.body.clone());
        }
    }
    let empty = (Vec::new(), Vec::new());
    for ad in ads.iter_mut() {
        let own = words.get(ad.language.code()).unwrap_or(&empty);
        let english = words.get(Language::En.code()).unwrap_or(&empty);
        let violating = !ad.labels.is_empty();
        let borrow = |rng: &mut StdRng, pool: &(Vec<String>, Vec<String>), bad: bool| {
            // Mostly words of the same kind of ad; sometimes of the other kind, so that
            // neither side's words alone give the label away.
            let side = if rng.gen_bool(0.8) == bad {
                &pool.1
            } else {
                &pool.0
            };
            side.choose(rng).cloned()
        };
        for text in [&mut ad.headline, &mut ad.body] {
            let mut out: Vec<String> = Vec::new();
            let mut parts: Vec<&str> = text.split(". ").collect();
            if parts.len() > 1 && rng.gen_bool(0.5) {
                parts.shuffle(&mut rng);
            }
            let switched = ad.language != Language::En && rng.gen_bool(0.25);
            for part in parts {
                for word in part.split_whitespace() {
                    let roll: f64 = rng.r#gen();
                    if roll < 0.12 {
                        continue;
                    }
                    let mut w = if switched && rng.gen_bool(0.4) {
                        borrow(&mut rng, english, violating).unwrap_or_else(|| word.to_string())
                    } else {
                        word.to_string()
                    };
                    if w.chars().count() >= 4 && rng.gen_bool(0.15) {
                        w = misspell(&w, &mut rng);
                    }
                    out.push(w);
                    if rng.gen_bool(0.08)
                        && let Some(extra) = borrow(&mut rng, own, violating)
                    {
                        out.push(extra);
                    }
                }
            }
            if out.is_empty() {
                out.push(text.clone());
            }
            *text = out.join(" ");
        }
        // Some ads are long: the message buried among several sentences of ordinary copy.
        if rng.gen_bool(LONG_SHARE)
            && let Some(pool) = bodies.get(ad.language.code()).filter(|p| !p.is_empty())
        {
            let padding = |n: usize, rng: &mut StdRng| {
                (0..n)
                    .map(|_| pool[rng.gen_range(0..pool.len())].clone())
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let before = padding(rng.gen_range(1..6), &mut rng);
            let after = padding(rng.gen_range(0..4), &mut rng);
            ad.body = format!("{before} {} {after}", ad.body).trim().to_string();
        }
        if rng.gen_bool(HARD_EXTRA_NOISE) {
            if ad.labels.is_empty() {
                ad.labels
                    .push(Category::ALL[rng.gen_range(0..Category::ALL.len())]);
            } else {
                ad.labels.clear();
            }
        }
    }
}

/// One typing slip in a word: two neighbouring letters swapped, one dropped or one doubled.
fn misspell(word: &str, rng: &mut StdRng) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    let i = rng.gen_range(1..chars.len() - 1);
    match rng.gen_range(0..3) {
        0 => chars.swap(i, i + 1),
        1 => {
            chars.remove(i);
        }
        _ => chars.insert(i, chars[i]),
    }
    chars.into_iter().collect()
}

fn bank_en_tagline() -> &'static [&'static str] {
    &[
        "Limited time only!",
        "Best price guaranteed.",
        "Free delivery.",
        "Shop the collection.",
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(ads: usize) -> CorpusParams {
        CorpusParams {
            ads,
            days: 28,
            seed: 42,
            end: 1_795_000_000_000,
        }
    }

    #[test]
    fn deterministic_for_a_seed() {
        assert_eq!(generate(&params(300)), generate(&params(300)));
        let other = generate(&CorpusParams {
            seed: 43,
            ..params(300)
        });
        assert_ne!(generate(&params(300)), other);
    }

    #[test]
    fn covers_every_market_language_and_category() {
        let ads = generate(&params(6000));
        for m in Market::ALL {
            assert!(ads.iter().any(|a| a.market == m), "{m}");
        }
        for l in Language::ALL {
            assert!(ads.iter().any(|a| a.language == l), "{l:?}");
        }
        for c in Category::ALL {
            assert!(ads.iter().any(|a| a.labels.contains(&c)), "{c}");
        }
        let violating =
            ads.iter().filter(|a| !a.labels.is_empty()).count() as f64 / ads.len() as f64;
        assert!(
            (0.15..0.4).contains(&violating),
            "violation share {violating}"
        );
        assert!(
            ads.windows(2)
                .all(|w| w[0].submitted_at <= w[1].submitted_at)
        );
    }

    #[test]
    fn late_days_drift() {
        let p = params(20000);
        let ads = generate(&p);
        let drift_from = p.end - i64::from(DRIFT_DAYS) * 86_400_000;
        let new_wording = |a: &&CorpusAd| {
            a.headline.contains("IA")
                || a.body.contains("IA")
                || a.headline.contains("AI")
                || a.body.contains("AI ")
        };
        let early = ads
            .iter()
            .filter(|a| a.submitted_at < drift_from)
            .filter(new_wording)
            .count();
        let late = ads
            .iter()
            .filter(|a| a.submitted_at >= drift_from)
            .filter(new_wording)
            .count();
        assert!(late > early, "late {late} early {early}");
    }

    #[test]
    fn campaign_waves_build_up_at_the_end() {
        let p = params(20000);
        let ads = generate(&p);
        let day = 86_400_000;
        let from = p.end - i64::from(WAVE_DAYS) * day;
        let half = p.end - i64::from(WAVE_DAYS) * day / 2;
        // The scam ring's new accounts appear only in the wave, and more as it grows.
        let ring = |a: &&CorpusAd| {
            a.advertiser_id
                .rsplit('-')
                .next()
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| n >= 400)
        };
        assert!(ads.iter().filter(ring).all(|a| a.submitted_at >= from));
        let first = ads.iter().filter(ring).filter(|a| a.submitted_at < half);
        let second = ads.iter().filter(ring).filter(|a| a.submitted_at >= half);
        let (first, second) = (first.count(), second.count());
        assert!(second > first && first > 0, "first {first} second {second}");
        assert!(
            ads.iter().filter(ring).all(
                |a| a.labels == [Category::Scam] && matches!(a.market, Market::Id | Market::Sg)
            )
        );

        // Share of a market's ads before the waves and in them.
        let share = |market: Market, of: &dyn Fn(&CorpusAd) -> bool| {
            let split = |late: bool| {
                let all: Vec<_> = ads
                    .iter()
                    .filter(|a| a.market == market && (a.submitted_at >= from) == late)
                    .collect();
                all.iter().filter(|a| of(a)).count() as f64 / all.len() as f64
            };
            (split(false), split(true))
        };
        let (before, during) = share(Market::Id, &|a| a.language == Language::En);
        assert!(during > before + 0.08, "ID English {before} → {during}");
        let (before, during) = share(Market::Br, &|a| a.labels.contains(&Category::Alcohol));
        assert!(during > 2.0 * before, "BR alcohol {before} → {during}");
        // Elsewhere the mix stays as it was.
        let (before, during) = share(Market::Jp, &|a| !a.labels.is_empty());
        assert!(
            (during - before).abs() < 0.05,
            "JP violations {before} → {during}"
        );
    }

    #[test]
    fn a_hardened_corpus_is_reworded_deterministically_and_keeps_most_labels() {
        let plain = generate(&params(3000));
        let mut a = plain.clone();
        let mut b = plain.clone();
        harden(&mut a, 9);
        harden(&mut b, 9);
        assert_eq!(
            a.iter().map(|x| &x.body).collect::<Vec<_>>(),
            b.iter().map(|x| &x.body).collect::<Vec<_>>()
        );
        let reworded = plain
            .iter()
            .zip(&a)
            .filter(|(p, h)| p.headline != h.headline || p.body != h.body)
            .count();
        assert!(reworded > 2500, "{reworded} of 3000 reworded");
        let relabelled = plain
            .iter()
            .zip(&a)
            .filter(|(p, h)| p.labels != h.labels)
            .count();
        assert!((5..=90).contains(&relabelled), "{relabelled} relabelled");
        assert!(
            a.iter()
                .all(|x| !x.headline.is_empty() && !x.body.is_empty())
        );
    }
}
