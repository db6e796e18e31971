"""B2B marketplace: buyers, suppliers, RFQs, orders."""

__version__ = "0.1.0"
