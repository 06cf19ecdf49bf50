"""The fixed vocabulary thelook's rows are drawn from: names, places, traffic sources, categories, brands.

Kept apart from the generator so the look of the data (which words, which cities) changes here and the
shape of the data (who buys what, when) changes in `thelook`.
"""

from __future__ import annotations

from typing import NamedTuple

FIRST_NAMES_MALE = (
    "James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas", "Charles",
    "Christopher", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven", "Paul", "Andrew", "Joshua",
    "Kenneth", "Kevin", "Brian", "George", "Timothy", "Ronald", "Jason", "Edward", "Jeffrey", "Ryan",
    "Jacob", "Gary", "Nicholas", "Eric", "Jonathan", "Stephen", "Larry", "Justin", "Scott", "Brandon",
    "Wei", "Jun", "Hiroshi", "Min-jun", "Lucas", "Mateo", "Louis", "Felix", "Jakub", "Liam",
)  # fmt: skip

FIRST_NAMES_FEMALE = (
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen",
    "Lisa", "Nancy", "Betty", "Margaret", "Sandra", "Ashley", "Kimberly", "Emily", "Donna", "Michelle",
    "Carol", "Amanda", "Dorothy", "Melissa", "Deborah", "Stephanie", "Rebecca", "Sharon", "Laura", "Cynthia",
    "Kathleen", "Amy", "Angela", "Shirley", "Anna", "Brenda", "Pamela", "Emma", "Nicole", "Helen",
    "Mei", "Yuki", "Seo-yeon", "Ana", "Camille", "Sofia", "Lucia", "Hannah", "Zofia", "Olivia",
)  # fmt: skip

LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
    "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
    "Wang", "Li", "Zhang", "Liu", "Chen", "Kim", "Park", "Sato", "Suzuki", "Silva",
    "Santos", "Oliveira", "Dubois", "Bernard", "Muller", "Schmidt", "Fernandez", "Kowalski", "Nowak", "Evans",
)  # fmt: skip

STREET_NAMES = (
    "Oak", "Maple", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill", "Park", "Main",
    "Church", "Mill", "River", "Spring", "Sunset", "Highland", "Meadow", "Forest", "Chestnut", "Willow",
    "Station", "Market", "Bridge", "Garden", "Victoria", "King", "Queen", "Harbor", "Valley", "Liberty",
)  # fmt: skip

STREET_SUFFIXES = ("Street", "Avenue", "Road", "Lane", "Drive", "Way", "Court", "Boulevard", "Place")

EMAIL_DOMAINS = ("@example.com", "@example.net", "@example.org")

# Shares follow thelook's users table, where search dominates and display ads bring the fewest.
TRAFFIC_SOURCES = {"Search": 0.70, "Organic": 0.15, "Facebook": 0.06, "Email": 0.05, "Display": 0.04}


class City(NamedTuple):
    country: str
    state: str
    city: str
    postal_prefix: str  # postal codes are this prefix plus two random digits
    latitude: float
    longitude: float


# Country shares follow thelook's users table (China, the United States and Brasil make up most of it).
COUNTRY_SHARES = {
    "China": 0.34, "United States": 0.225, "Brasil": 0.145, "South Korea": 0.053, "France": 0.047,
    "United Kingdom": 0.046, "Germany": 0.042, "Spain": 0.04, "Japan": 0.025, "Australia": 0.021,
    "Belgium": 0.012, "Poland": 0.002, "Colombia": 0.001, "Austria": 0.001,
}  # fmt: skip

CITIES = (
    City("China", "Shanghai", "Shanghai", "2000", 31.23, 121.47),
    City("China", "Beijing", "Beijing", "1000", 39.90, 116.41),
    City("China", "Guangdong", "Guangzhou", "5100", 23.13, 113.26),
    City("China", "Guangdong", "Shenzhen", "5180", 22.54, 114.06),
    City("China", "Sichuan", "Chengdu", "6100", 30.57, 104.07),
    City("United States", "New York", "New York", "100", 40.71, -74.01),
    City("United States", "California", "Los Angeles", "900", 34.05, -118.24),
    City("United States", "Illinois", "Chicago", "606", 41.88, -87.63),
    City("United States", "Texas", "Houston", "770", 29.76, -95.37),
    City("United States", "Washington", "Seattle", "981", 47.61, -122.33),
    City("Brasil", "São Paulo", "São Paulo", "01310-1", -23.55, -46.63),
    City("Brasil", "Rio de Janeiro", "Rio de Janeiro", "20040-0", -22.91, -43.17),
    City("Brasil", "Minas Gerais", "Belo Horizonte", "30130-0", -19.92, -43.94),
    City("South Korea", "Seoul", "Seoul", "041", 37.57, 126.98),
    City("South Korea", "Busan", "Busan", "482", 35.18, 129.08),
    City("France", "Île-de-France", "Paris", "750", 48.86, 2.35),
    City("France", "Auvergne-Rhône-Alpes", "Lyon", "690", 45.76, 4.84),
    City("France", "Provence-Alpes-Côte d'Azur", "Marseille", "130", 43.30, 5.37),
    City("United Kingdom", "England", "London", "EC1A 1", 51.51, -0.13),
    City("United Kingdom", "England", "Manchester", "M1 1", 53.48, -2.24),
    City("United Kingdom", "Scotland", "Edinburgh", "EH1 1", 55.95, -3.19),
    City("Germany", "Berlin", "Berlin", "101", 52.52, 13.40),
    City("Germany", "Hamburg", "Hamburg", "200", 53.55, 9.99),
    City("Germany", "Bayern", "München", "803", 48.14, 11.58),
    City("Spain", "Madrid", "Madrid", "280", 40.42, -3.70),
    City("Spain", "Catalunya", "Barcelona", "080", 41.39, 2.17),
    City("Japan", "Tokyo", "Tokyo", "100-00", 35.68, 139.69),
    City("Japan", "Osaka", "Osaka", "530-00", 34.69, 135.50),
    City("Australia", "New South Wales", "Sydney", "20", -33.87, 151.21),
    City("Australia", "Victoria", "Melbourne", "30", -37.81, 144.96),
    City("Belgium", "Brussels", "Brussels", "10", 50.85, 4.35),
    City("Belgium", "Flanders", "Antwerpen", "20", 51.22, 4.40),
    City("Poland", "Mazowieckie", "Warszawa", "00-0", 52.23, 21.01),
    City("Poland", "Małopolskie", "Kraków", "30-0", 50.06, 19.94),
    City("Colombia", "Bogotá", "Bogotá", "1100", 4.71, -74.07),
    City("Austria", "Wien", "Wien", "10", 48.21, 16.37),
)

DEPARTMENTS = ("Men", "Women")


class Category(NamedTuple):
    name: str
    departments: tuple[str, ...]
    catalog_share: float  # relative number of products in the catalog
    median_price: float  # typical retail price in USD
    garments: tuple[str, ...]  # the noun that ends a product name


# Category and department pairs are the ones thelook's products table has.
CATEGORIES = (
    Category("Intimates", ("Women",), 8, 22, ("Lace Bralette", "Seamless Brief", "Push-Up Bra", "Camisole")),
    Category("Jeans", DEPARTMENTS, 7, 75, ("Slim Fit Jean", "Straight Leg Jean", "Bootcut Jean", "Skinny Jean")),
    Category("Tops & Tees", DEPARTMENTS, 7, 28, ("Crew Neck Tee", "V-Neck Tee", "Henley", "Tank Top")),
    Category("Fashion Hoodies & Sweatshirts", DEPARTMENTS, 7, 50, ("Pullover Hoodie", "Zip Hoodie", "Sweatshirt")),
    Category("Sweaters", DEPARTMENTS, 6, 70, ("Cardigan", "Crewneck Sweater", "Turtleneck", "Cable Knit Sweater")),
    Category("Shorts", DEPARTMENTS, 6, 38, ("Cargo Short", "Chino Short", "Board Short", "Denim Short")),
    Category("Swim", DEPARTMENTS, 6, 45, ("Swim Trunk", "Bikini Set", "One-Piece Swimsuit", "Rash Guard")),
    Category("Sleep & Lounge", DEPARTMENTS, 6, 35, ("Pajama Set", "Lounge Pant", "Robe", "Sleep Shirt")),
    Category("Accessories", DEPARTMENTS, 5, 30, ("Leather Belt", "Wool Scarf", "Beanie", "Sunglasses", "Wallet")),
    Category("Active", DEPARTMENTS, 5, 42, ("Running Tight", "Training Short", "Sports Bra", "Performance Tee")),
    Category("Outerwear & Coats", DEPARTMENTS, 5, 140, ("Parka", "Trench Coat", "Down Jacket", "Peacoat")),
    Category("Dresses", ("Women",), 5, 70, ("Maxi Dress", "Wrap Dress", "Shift Dress", "Cocktail Dress")),
    Category("Pants", ("Men",), 4, 58, ("Chino Pant", "Cargo Pant", "Dress Pant", "Jogger")),
    Category("Pants & Capris", ("Women",), 3, 50, ("Capri Pant", "Wide Leg Pant", "Cropped Pant")),
    Category("Socks", ("Men",), 3, 12, ("Crew Sock 3-Pack", "Dress Sock", "Athletic Sock 6-Pack")),
    Category("Socks & Hosiery", ("Women",), 3, 12, ("Sheer Tights", "No-Show Sock", "Knee High Sock")),
    Category("Underwear", ("Men",), 3, 22, ("Boxer Brief", "Trunk", "Boxer Short", "Undershirt")),
    Category("Suits & Sport Coats", ("Men",), 3, 180, ("Two-Button Suit", "Sport Coat", "Tuxedo Jacket")),
    Category("Plus", ("Women",), 3, 48, ("Plus Size Tunic", "Plus Size Blouse", "Plus Size Legging")),
    Category("Skirts", ("Women",), 2, 45, ("Pencil Skirt", "Pleated Skirt", "A-Line Skirt", "Mini Skirt")),
    Category("Blazers & Jackets", ("Women",), 2, 95, ("Tailored Blazer", "Moto Jacket", "Denim Jacket")),
    Category("Maternity", ("Women",), 2, 45, ("Maternity Dress", "Maternity Legging", "Nursing Top")),
    Category("Leggings", ("Women",), 2, 28, ("High Rise Legging", "Printed Legging", "Fleece Lined Legging")),
    Category("Suits", ("Women",), 1, 150, ("Pant Suit", "Skirt Suit", "Tuxedo Blazer")),
    Category("Jumpsuits & Rompers", ("Women",), 1, 60, ("Jumpsuit", "Romper", "Overall")),
    Category("Clothing Sets", ("Women",), 1, 55, ("Two-Piece Set", "Co-ord Set", "Tracksuit Set")),
)  # fmt: skip

BRANDS = (
    "Calvin Klein", "Levi's", "Carhartt", "Columbia", "Tommy Hilfiger", "Nautica", "Hanes", "Allegra K",
    "Ralph Lauren", "Diesel", "Quiksilver", "Volcom", "Dockers", "Fruit of the Loom", "Champion",
    "Under Armour", "Nike", "adidas", "Puma", "Patagonia", "The North Face", "Speedo", "Jockey", "Wrangler",
    "Lucky Brand", "7 For All Mankind", "True Religion", "Hurley", "Billabong", "Roxy", "Free People",
    "Anne Klein", "Jones New York", "Kenneth Cole", "Tommy Bahama", "Dickies", "Hugo Boss", "Vince Camuto",
    "Wacoal", "Hanky Panky", "Motherhood Maternity", "Woman Within", "Alo Yoga", "Spanx", "Reebok",
)  # fmt: skip

STYLE_WORDS = (
    "Classic", "Essential", "Vintage", "Slim", "Relaxed", "Premium", "Everyday", "Signature", "Modern",
    "Heritage", "Soft", "Stretch", "Organic Cotton", "Lightweight", "Heavyweight", "Printed", "Striped",
)  # fmt: skip

# Share of products each of thelook's ten distribution centers ships.
DISTRIBUTION_CENTER_SHARES = (0.13, 0.12, 0.11, 0.11, 0.10, 0.10, 0.09, 0.09, 0.08, 0.07)
