using Microsoft.Extensions.Logging;
using Stateset.Workflows.Activities;

namespace Stateset.Activities.Shipping.Carriers;

/// <summary>What rate shopping found.</summary>
/// <param name="Best">The cheapest rate meeting the service level, or null when none does.</param>
/// <param name="Offers">Every rate the carriers that answered quoted.</param>
/// <param name="UnavailableCarriers">Carriers skipped because they stayed down after retries.</param>
public sealed record RateShopResult(Rate? Best, IReadOnlyList<Rate> Offers, IReadOnlyList<string> UnavailableCarriers);

/// <summary>
/// Asks all carriers at once and picks the cheapest rate whose service level is at least the one asked for
/// (ties: fewer transit days, then carrier code, so the choice is stable). A carrier that is still down after its
/// resilience pipeline gave up is skipped, not fatal. Only rates in the shipper's currency are compared, since
/// carriers bill in the currency of the shipping account.
/// </summary>
public sealed class RateShopper(IEnumerable<ICarrierClient> carriers, ILogger<RateShopper> logger)
{
    /// <summary>Quotes every carrier and chooses.</summary>
    public async Task<RateShopResult> ShopAsync(CarrierRateRequest request, ServiceLevel level, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var quotes = await Task.WhenAll(carriers.Select(async carrier =>
        {
            try
            {
                return (carrier.Carrier, Rates: await carrier.GetRatesAsync(request, cancellationToken), Down: false);
            }
            catch (CarrierUnavailableException e)
            {
                logger.LogWarning(e, "Skipping carrier {Carrier} while rate shopping: it is unavailable", carrier.Carrier);
                return (carrier.Carrier, Rates: (IReadOnlyList<Rate>)[], Down: true);
            }
            catch (CarrierRejectedException e)
            {
                logger.LogInformation("Carrier {Carrier} offers no rate: {Reason}", carrier.Carrier, e.Message);
                return (carrier.Carrier, Rates: (IReadOnlyList<Rate>)[], Down: false);
            }
        }));

        var currency = request.From.Country == "CA" ? "CAD" : "USD";
        var offers = quotes.SelectMany(q => q.Rates).ToList();
        var best = offers
            .Where(r => r.Level >= level && r.Currency == currency)
            .OrderBy(r => r.Amount)
            .ThenBy(r => r.TransitDays)
            .ThenBy(r => r.Carrier, StringComparer.Ordinal)
            .ThenBy(r => r.Service, StringComparer.Ordinal)
            .FirstOrDefault();
        return new RateShopResult(best, offers, [.. quotes.Where(q => q.Down).Select(q => q.Carrier)]);
    }
}
