using System.Globalization;

namespace Braid.Data;

/// <summary>A monitoring site of the synthetic data set.</summary>
/// <param name="Index">Position in <see cref="AirQualitySites.All"/>.</param>
/// <param name="Latitude">Degrees north (4 decimals, like many AirNow sites).</param>
/// <param name="Longitude">Degrees east.</param>
/// <param name="Name">Site name, unique in the table.</param>
/// <param name="Agency">Operating agency.</param>
/// <param name="AqsId">Nine digits: state FIPS, county FIPS, site number.</param>
/// <param name="FullAqsId">"840" (USA) followed by the AQS id.</param>
/// <param name="SmokeExposure">How strongly the 2020 western fire smoke reaches the site (0 none .. ~1.5).</param>
internal sealed record MonitoringSite(int Index, double Latitude, double Longitude, string Name, string Agency,
    string AqsId, string FullAqsId, double SmokeExposure);

/// <summary>
/// The built-in table of synthetic monitoring sites: real US metropolitan areas (approximate
/// centre, state and county FIPS codes, the air agency that reports there) with a handful of
/// sites scattered around each, named and numbered deterministically. No real site data is
/// downloaded or copied; the table is the same for every seed, like a real monitoring network.
/// </summary>
internal static class AirQualitySites
{
    private const int TableSeed = 20200810;

    private static readonly string[] Suffixes =
    [
        "", "West", "East", "North", "South", "Downtown", "Airport", "Near Road", "Fire Station", "High School",
        "Community College", "Park", "Elementary", "Library", "Fairgrounds", "Water Treatment", "Reservoir", "Harbor",
        "Industrial", "County Line", "Hospital", "Civic Center", "Rail Yard", "University", "Golf Course", "Ridge",
        "Valley", "Highway", "Lake", "Municipal Court",
    ];

    // City, state FIPS, county FIPS, latitude, longitude, agency, sites.
    private static readonly (string City, string State, string County, double Lat, double Lon, string Agency, int Sites)[] Metros =
    [
        ("San Francisco", "06", "075", 37.7749, -122.4194, "San Francisco Bay Area AQMD", 14),
        ("Oakland", "06", "001", 37.8044, -122.2712, "San Francisco Bay Area AQMD", 10),
        ("San Jose", "06", "085", 37.3382, -121.8863, "San Francisco Bay Area AQMD", 10),
        ("Sacramento", "06", "067", 38.5816, -121.4944, "Sacramento Metropolitan AQMD", 12),
        ("Fresno", "06", "019", 36.7378, -119.7871, "San Joaquin Valley Unified APCD", 12),
        ("Bakersfield", "06", "029", 35.3733, -119.0187, "San Joaquin Valley Unified APCD", 9),
        ("Los Angeles", "06", "037", 34.0522, -118.2437, "South Coast AQMD", 24),
        ("Riverside", "06", "065", 33.9806, -117.3755, "South Coast AQMD", 12),
        ("San Diego", "06", "073", 32.7157, -117.1611, "San Diego County APCD", 12),
        ("Santa Rosa", "06", "097", 38.4404, -122.7141, "Northern Sonoma County APCD", 5),
        ("Redding", "06", "089", 40.5865, -122.3917, "Shasta County AQMD", 4),
        ("Chico", "06", "007", 39.7285, -121.8375, "Butte County AQMD", 4),
        ("Portland", "41", "051", 45.5152, -122.6784, "Oregon Department of Environmental Quality", 12),
        ("Eugene", "41", "039", 44.0521, -123.0868, "Lane Regional Air Protection Agency", 6),
        ("Medford", "41", "029", 42.3265, -122.8756, "Oregon Department of Environmental Quality", 5),
        ("Seattle", "53", "033", 47.6062, -122.3321, "Puget Sound Clean Air Agency", 14),
        ("Spokane", "53", "063", 47.6588, -117.4260, "Spokane Regional Clean Air Agency", 6),
        ("Boise", "16", "001", 43.6150, -116.2023, "Idaho Department of Environmental Quality", 6),
        ("Reno", "32", "031", 39.5296, -119.8138, "Washoe County Health District", 6),
        ("Las Vegas", "32", "003", 36.1699, -115.1398, "Clark County Department of Environment and Sustainability", 12),
        ("Phoenix", "04", "013", 33.4484, -112.0740, "Maricopa County Air Quality Department", 18),
        ("Tucson", "04", "019", 32.2226, -110.9747, "Pima County Department of Environmental Quality", 8),
        ("Salt Lake City", "49", "035", 40.7608, -111.8910, "Utah Division of Air Quality", 12),
        ("Denver", "08", "031", 39.7392, -104.9903, "Colorado Department of Public Health and Environment", 14),
        ("Albuquerque", "35", "001", 35.0844, -106.6504, "Albuquerque Environmental Health Department", 8),
        ("Missoula", "30", "063", 46.8721, -113.9940, "Montana Department of Environmental Quality", 4),
        ("Cheyenne", "56", "021", 41.1400, -104.8202, "Wyoming Department of Environmental Quality", 4),
        ("Anchorage", "02", "020", 61.2181, -149.9003, "Alaska Department of Environmental Conservation", 4),
        ("Honolulu", "15", "003", 21.3069, -157.8583, "Hawaii Department of Health", 5),
        ("Dallas", "48", "113", 32.7767, -96.7970, "Texas Commission on Environmental Quality", 16),
        ("Houston", "48", "201", 29.7604, -95.3698, "Texas Commission on Environmental Quality", 22),
        ("San Antonio", "48", "029", 29.4241, -98.4936, "Texas Commission on Environmental Quality", 10),
        ("Austin", "48", "453", 30.2672, -97.7431, "Texas Commission on Environmental Quality", 8),
        ("El Paso", "48", "141", 31.7619, -106.4850, "Texas Commission on Environmental Quality", 8),
        ("Oklahoma City", "40", "109", 35.4676, -97.5164, "Oklahoma Department of Environmental Quality", 8),
        ("Kansas City", "29", "095", 39.0997, -94.5786, "Missouri Department of Natural Resources", 8),
        ("St. Louis", "29", "510", 38.6270, -90.1994, "Missouri Department of Natural Resources", 12),
        ("Omaha", "31", "055", 41.2565, -95.9345, "Douglas County Health Department", 6),
        ("Minneapolis", "27", "053", 44.9778, -93.2650, "Minnesota Pollution Control Agency", 12),
        ("Chicago", "17", "031", 41.8781, -87.6298, "Illinois Environmental Protection Agency", 22),
        ("Milwaukee", "55", "079", 43.0389, -87.9065, "Wisconsin Department of Natural Resources", 10),
        ("Detroit", "26", "163", 42.3314, -83.0458, "Michigan Department of Environment, Great Lakes, and Energy", 12),
        ("Indianapolis", "18", "097", 39.7684, -86.1581, "Indiana Department of Environmental Management", 10),
        ("Columbus", "39", "049", 39.9612, -82.9988, "Ohio Environmental Protection Agency", 8),
        ("Cleveland", "39", "035", 41.4993, -81.6944, "Cleveland Division of Air Quality", 10),
        ("Cincinnati", "39", "061", 39.1031, -84.5120, "Southwest Ohio Air Quality Agency", 8),
        ("Louisville", "21", "111", 38.2527, -85.7585, "Louisville Metro Air Pollution Control District", 8),
        ("Nashville", "47", "037", 36.1627, -86.7816, "Metro Public Health Department of Nashville", 7),
        ("Memphis", "47", "157", 35.1495, -90.0490, "Shelby County Health Department", 6),
        ("New Orleans", "22", "071", 29.9511, -90.0715, "Louisiana Department of Environmental Quality", 8),
        ("Baton Rouge", "22", "033", 30.4515, -91.1871, "Louisiana Department of Environmental Quality", 8),
        ("Little Rock", "05", "119", 34.7465, -92.2896, "Arkansas Division of Environmental Quality", 5),
        ("Atlanta", "13", "121", 33.7490, -84.3880, "Georgia Environmental Protection Division", 12),
        ("Birmingham", "01", "073", 33.5186, -86.8104, "Jefferson County Department of Health", 8),
        ("Charlotte", "37", "119", 35.2271, -80.8431, "Mecklenburg County Air Quality", 8),
        ("Raleigh", "37", "183", 35.7796, -78.6382, "North Carolina Division of Air Quality", 8),
        ("Miami", "12", "086", 25.7617, -80.1918, "Miami-Dade County Division of Environmental Resources Management", 10),
        ("Tampa", "12", "057", 27.9506, -82.4572, "Environmental Protection Commission of Hillsborough County", 10),
        ("Orlando", "12", "095", 28.5383, -81.3792, "Florida Department of Environmental Protection", 7),
        ("Jacksonville", "12", "031", 30.3322, -81.6557, "City of Jacksonville Environmental Quality Division", 7),
        ("Washington", "11", "001", 38.9072, -77.0369, "District of Columbia Department of Energy and Environment", 8),
        ("Baltimore", "24", "510", 39.2904, -76.6122, "Maryland Department of the Environment", 10),
        ("Philadelphia", "42", "101", 39.9526, -75.1652, "Philadelphia Air Management Services", 12),
        ("Pittsburgh", "42", "003", 40.4406, -79.9959, "Allegheny County Health Department", 12),
        ("New York", "36", "061", 40.7128, -74.0060, "New York State Department of Environmental Conservation", 20),
        ("Newark", "34", "013", 40.7357, -74.1724, "New Jersey Department of Environmental Protection", 10),
        ("Boston", "25", "025", 42.3601, -71.0589, "Massachusetts Department of Environmental Protection", 12),
        ("Hartford", "09", "003", 41.7658, -72.6734, "Connecticut Department of Energy and Environmental Protection", 7),
        ("Providence", "44", "007", 41.8240, -71.4128, "Rhode Island Department of Environmental Management", 5),
        ("Buffalo", "36", "029", 42.8864, -78.8784, "New York State Department of Environmental Conservation", 6),
        ("Richmond", "51", "760", 37.5407, -77.4360, "Virginia Department of Environmental Quality", 7),
        ("Charleston", "54", "039", 38.3498, -81.6326, "West Virginia Department of Environmental Protection", 5),
        ("Columbia", "45", "079", 34.0007, -81.0348, "South Carolina Department of Health and Environmental Control", 6),
        ("Burlington", "50", "007", 44.4759, -73.2121, "Vermont Department of Environmental Conservation", 3),
        ("Portland ME", "23", "005", 43.6591, -70.2568, "Maine Department of Environmental Protection", 4),
    ];

    /// <summary>All sites, in table order (west to east roughly, as listed).</summary>
    public static IReadOnlyList<MonitoringSite> All { get; } = Build();

    private static MonitoringSite[] Build()
    {
        var random = new Random(TableSeed);
        var sites = new List<MonitoringSite>();
        foreach (var m in Metros)
        {
            for (int j = 0; j < m.Sites; j++)
            {
                string name = j == 0 ? m.City : m.City + " " + Suffixes[j];
                double lat = Math.Round(m.Lat + (j == 0 ? 0 : (random.NextDouble() - 0.5) * 0.5), 4);
                double lon = Math.Round(m.Lon + (j == 0 ? 0 : (random.NextDouble() - 0.5) * 0.6), 4);
                int county = int.Parse(m.County, CultureInfo.InvariantCulture) + (j % 5 == 4 ? 2 : 0);
                int siteNumber = j * 10 + 1 + random.Next(9);
                string aqs = string.Create(CultureInfo.InvariantCulture, $"{m.State}{county:000}{siteNumber:0000}");
                sites.Add(new MonitoringSite(sites.Count, lat, lon, name, m.Agency, aqs, "840" + aqs,
                    SmokeExposure(lat, lon) * (0.7 + 0.6 * random.NextDouble())));
            }
        }
        return [.. sites];
    }

    /// <summary>The 2020 fires were in California, Oregon and Washington: smoke was thickest on the
    /// west coast, reached the interior West, and was mostly aloft further east.</summary>
    private static double SmokeExposure(double lat, double lon) => lon switch
    {
        < -140 => lat > 50 ? 0.25 : 0.05, // Alaska got some smoke, Hawaii none
        < -116 => lat > 32.5 ? 1.0 : 0.6,
        < -104 => 0.5,
        < -90 => 0.15,
        _ => 0.08,
    };
}
